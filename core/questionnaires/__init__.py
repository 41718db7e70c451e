"""Questionnaires: definitions as data, answers per resident, results and exports.

One module per job; import from the module that does it:

- ``definition``: the schema (pydantic models, also the admin API's request body), reading a
  definition, ``value_fits`` (what may be stored as an answer), ``localized``;
- ``walk``: the next question and the "2/5" progress mark;
- ``storage``: the ``Questionnaire`` and ``Response`` tables, versions, lookups for the flow;
- ``content``: the YAML files that ship in ``core/content/questionnaires`` and loading them;
- ``responses``: a resident's response from start to completion or expiry, and the effects the
  chat flow asks the inbox to apply;
- ``results``: counts and free texts under the privacy rules (at least ``privacy_k`` people);
- ``export``: the counts CSV and the pseudonymous row-level CSV for research.

Reading what a resident typed as an answer is the conversation's job: ``bot.i18n.answers``.
"""
