"""Imports of people and case files from CSV and XLSX registers, and full exports.

* `layouts`: the documented columns of each kind, their French and English headers and
  aliases, the templates to download, and optional mapping files for other layouts;
* `reader`: reading a CSV (UTF-8, UTF-8 with BOM or Windows-1252; `,` `;` or tab) or an XLSX
  (openpyxl, read-only streaming) file, row by row;
* `validation`: checking one row, then a batch of rows against the database;
* `operations`: running an import job: streaming, batches of Core inserts and updates, the
  report, all-or-nothing or valid rows only, the audit trail;
* `jobs`: starting a job in the background (RQ when REDIS_URL is set, else a thread);
* `purge`: deleting uploaded files and reports past IMPORT_FILES_MAX_HOURS (personal data);
* `exports`: full exports of people and cases (CSV and XLSX, streamed, scoped, audited);
* `cli`, `views`: the `casework import` and `casework imports purge` commands and the
  /imports and /exports pages.
"""
