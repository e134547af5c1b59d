def pytest_configure(config):
    config.addinivalue_line(
        "markers", "reliability: fault injection, process faults, soak and bad-input corpus"
    )
