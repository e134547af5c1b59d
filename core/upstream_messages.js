// Never served or run: the admin's JavaScript messages that Django 6.1's Italian catalogue lacks
// (the filter_horizontal pickers, the calendar, the time-zone note). Listed so that
// `makemessages -d djangojs` keeps them in locale/it/LC_MESSAGES/djangojs.po; the admin's
// jsi18n view merges that catalogue (LOCALE_PATHS) over the admin's own. See
// core/upstream_messages.py for the Python ones.
/* global gettext, ngettext */
"use strict";

function upstreamMessages(n) {
  return [
    gettext('Choose %s by selecting them and then select the "Choose" arrow button.'),
    gettext("Choose all %s"),
    gettext("Choose selected %s"),
    gettext("Remove selected %s"),
    gettext('Remove %s by selecting them and then select the "Remove" arrow button.'),
    gettext("(click to clear)"),
    gettext("Remove all %s"),
    gettext("server"),
    ngettext(
      "Note: Enter times in the %(timezone)s timezone. (You are %(offset)s hour ahead.)",
      "Note: Enter times in the %(timezone)s timezone. (You are %(offset)s hours ahead.)",
      n
    ),
    ngettext(
      "Note: Enter times in the %(timezone)s timezone. (You are %(offset)s hour behind.)",
      "Note: Enter times in the %(timezone)s timezone. (You are %(offset)s hours behind.)",
      n
    ),
    gettext("Today (%(date)s)"),
    gettext("Yesterday (%(date)s)"),
    gettext("Tomorrow (%(date)s)"),
    gettext("Previous (%(month)s %(year)s)"),
    gettext("Next (%(month)s %(year)s)"),
    gettext("%(month)s %(day)s, %(year)s"),
    gettext("%s (today, current selection)"),
    gettext("%s (today)"),
    gettext("%s (current selection)"),
    gettext(
      "You have selected an action, and you haven’t made any changes on individual fields. " +
      "You’re probably looking for the Run button rather than the Save button."
    ),
  ];
}
