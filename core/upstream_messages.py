"""Messages of Django and of the third-party apps that their own Italian catalogues lack: Django
6.1's new admin and auth strings, django-axes and django-rest-knox (no Italian at all), the
strings Django REST framework's and drf-spectacular's catalogues leave in English.

Our catalogue (locale/it/LC_MESSAGES/django.po) supplies them: gettext merges the catalogues in
LOCALE_PATHS after every app's own, so an entry there wins over a missing or empty one in
Django's or a package's catalogue. They are listed here, never used, so that `makemessages`
keeps them in our catalogue (a msgid found in no source file would be dropped as obsolete) and
CI's catalogue check sees any of them untranslated. The admin's JavaScript messages are listed
the same way for the `djangojs` catalogue in core/upstream_messages.js.

When Django or a package is upgraded, compare its Italian catalogue again (docs: the README's
Translations); tests/core/test_upstream_messages.py checks that every message here reads in
Italian at run time."""

from django.utils.translation import gettext_noop, ngettext_lazy

DJANGO = (
    gettext_noop("- Select an option -"),
    gettext_noop("Enter a valid domain name."),
    gettext_noop("Enter a valid %(protocol)s address."),
    gettext_noop("IPv4 or IPv6"),
    gettext_noop("%(model)s instance with %(field)s %(value)r is not a valid choice."),
    gettext_noop("No %s matches the given query."),
    gettext_noop("“%(value)s” is not a valid binary value."),
    # Translated by Django's catalogues as the English word itself.
    gettext_noop("Breadcrumbs"),
    gettext_noop("Content Types"),
)

DJANGO_ADMIN = (
    gettext_noop('The app "%s" could not be found.'),
    gettext_noop("Run"),
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("Error:"),
    gettext_noop(
        "This action will <strong>enable</strong> password-based authentication for this user."
    ),
    gettext_noop("Disable password-based authentication"),
    gettext_noop("Enable password-based authentication"),
    gettext_noop("Filter by %(field_name)s"),
    gettext_noop("Pagination %(name)s entries"),
    gettext_noop("Pagination %(name)s"),
    gettext_noop("Logout"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
    gettext_noop("Set password"),
    gettext_noop(
        "Deleting the %(object_name)s “%(escaped_object)s” would result in deleting related "
        "objects, but your account doesn't have permission to delete the following types of "
        "objects:"
    ),
    gettext_noop(
        "Deleting the %(object_name)s “%(escaped_object)s” would require deleting the following "
        "protected related objects:"
    ),
    gettext_noop(
        "Are you sure you want to delete the %(object_name)s “%(escaped_object)s”? All of the "
        "following related items will be deleted:"
    ),
    gettext_noop("Forgotten your login credentials?"),
    gettext_noop("Search %(name)s"),
    gettext_noop("In case you’ve forgotten, you are:"),
)
DJANGO_ADMIN_PLURAL = (
    ngettext_lazy("…and %(count)d more object.", "…and %(count)d more objects."),
)

DJANGO_AUTH = (
    gettext_noop("Conflicting form data submitted. Please try again."),
    gettext_noop("Password-based authentication was disabled."),
    gettext_noop(
        "Whether the user will be able to authenticate using a password or not. If disabled, "
        "they may still be able to authenticate using other backends, such as Single Sign-On or "
        "LDAP."
    ),
    gettext_noop("Enabled"),
    gettext_noop("Disabled"),
    gettext_noop("Enable password-based authentication for this user by setting a password."),
    gettext_noop("Set password: %s"),
    gettext_noop("Reset password"),
    gettext_noop("Password-based authentication"),
    gettext_noop("Raw passwords are not stored, so there is no way to see the user’s password."),
)
DJANGO_AUTH_PLURAL = (
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
    ),
)

DJANGO_FILTERS = (gettext_noop("Select a lookup."),)

# django-axes: its models, admin and lockout messages (the admin's "Protezione degli accessi").
AXES = (
    gettext_noop("Locked Out"),
    gettext_noop("Form Data"),
    gettext_noop("Meta Data"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Not set"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Account locked: too many login attempts. Please try again later."),
    gettext_noop(
        "Account locked: too many login attempts. Contact an admin to unlock your account."
    ),
    gettext_noop("User Agent"),
    gettext_noop("IP Address"),
    gettext_noop("HTTP Accept"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("Access lock out"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("Failed Logins"),
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("Access Attempt"),
    gettext_noop("Expires At"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("Logout Time"),
    gettext_noop("Session key hash (sha256)"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
)

# django-rest-knox: its model's names (its messages are DRF's, translated by DRF's catalogue).
KNOX = (
    gettext_noop("auth token"),
    gettext_noop("auth tokens"),
)

# Django REST framework: error messages, the browsable API, the schema's parameters.
REST_FRAMEWORK = (
    gettext_noop("Expected available in {wait} second."),
    gettext_noop("Expected available in {wait} seconds."),
    gettext_noop("Not a valid string."),
    gettext_noop("Integer value too large to convert to float"),
    gettext_noop('Invalid datetime for the timezone "{timezone}".'),
    gettext_noop("The number of days must be between {min_days} and {max_days}."),
    gettext_noop("A search term."),
    gettext_noop("Which field to use when ordering the results."),
    gettext_noop("A page number within the paginated result set."),
    gettext_noop("Number of results to return per page."),
    gettext_noop("The initial index from which to return the results."),
    gettext_noop("The pagination cursor value."),
    gettext_noop("unique integer value"),
    gettext_noop("UUID string"),
    gettext_noop("unique value"),
    gettext_noop("A {value_type} identifying this {name}."),
    gettext_noop("Extra Actions"),
    gettext_noop("navbar"),
    gettext_noop("content"),
    gettext_noop("request form"),
    gettext_noop("main content"),
    gettext_noop("request info"),
    gettext_noop("response info"),
    gettext_noop("Surrogate characters are not allowed: U+{code_point:X}."),
    gettext_noop("Invalid input."),
    gettext_noop(
        'Enter a valid "slug" consisting of Unicode letters, numbers, underscores, or hyphens.'
    ),
    gettext_noop("Must be a valid UUID."),
    gettext_noop("A valid biginteger is required."),
    gettext_noop("Datetime value out of range."),
    gettext_noop("Ensure this field has at least {min_length} elements."),
    gettext_noop("Ensure this field has no more than {max_length} elements."),
    gettext_noop("This dictionary may not be empty."),
)

# django-auditlog (the audit trail, core/audit.py) has no Italian catalogue: the names of its
# entry's fields that the admin shows; and the admin's "History" button, which Vetrina calls
# "Cronologia" (it opens the record's audit trail, core/admin_site.py).
AUDITLOG = (
    gettext_noop("timestamp"),
    gettext_noop("remote address"),
    gettext_noop("History"),
)

DRF_SPECTACULAR = (
    gettext_noop("No response body"),
    gettext_noop("Unspecified response body"),
    gettext_noop('Token-based authentication with required prefix "%s"'),
)

MESSAGES = (
    *DJANGO,
    *DJANGO_ADMIN,
    *DJANGO_AUTH,
    *DJANGO_FILTERS,
    *AXES,
    *KNOX,
    *REST_FRAMEWORK,
    *DRF_SPECTACULAR,
    *AUDITLOG,
)
PLURAL_MESSAGES = (*DJANGO_ADMIN_PLURAL, *DJANGO_AUTH_PLURAL)
