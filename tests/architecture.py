"""An import-linter contract type (pyproject.toml, `lint-imports`): a product app uses another
only through the other's public modules.

    [[tool.importlinter.contracts]]
    type = "public_modules"
    apps = ["campaigns", "loyalty", ...]
    public_modules = ["*.models", "*.services", "loyalty.consent"]

`*.x` is module x (and its submodules) of every app; anything else of an app is private to it:
its provider client, sync handlers, admin, API, forms… Only imports between the listed apps
are checked (config and the demo app wire everything together and may import any module)."""

from __future__ import annotations

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class PublicModulesContract(Contract):
    type_name = "public_modules"

    apps = fields.ListField(subfield=fields.StringField())
    public_modules = fields.ListField(subfield=fields.StringField())

    def _is_public(self, app: str, module: str) -> bool:
        for pattern in self.public_modules:  # type: ignore[attr-defined]
            public = f"{app}.{pattern[2:]}" if pattern.startswith("*.") else pattern
            if module == public or module.startswith(public + "."):
                return True
        return False

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        apps: list[str] = self.apps  # type: ignore[attr-defined]

        def app_of(module: str) -> str | None:
            top = module.split(".", 1)[0]
            return top if top in apps else None

        illegal = []
        for app in apps:
            for imported in sorted({app, *graph.find_descendants(app)}):
                if self._is_public(app, imported):
                    continue
                for importer in sorted(graph.find_modules_that_directly_import(imported)):
                    if app_of(importer) in (None, app):
                        continue
                    details = graph.get_import_details(importer=importer, imported=imported)
                    illegal.append(
                        {
                            "importer": importer,
                            "imported": imported,
                            "lines": sorted({d["line_number"] for d in details}),
                        }
                    )
        return ContractCheck(kept=not illegal, warnings=None, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error("Imports of another app's private modules:", bold=False)
        output.new_line()
        for link in check.metadata["illegal"]:
            lines = ", ".join(map(str, link["lines"]))
            output.print_error(
                f"- {link['importer']} -> {link['imported']} (l.{lines})", bold=False
            )
            output.new_line()
