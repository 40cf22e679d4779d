"""Numbered schema migrations, applied in order by `init-db` (playhouse.migrations).

Each file is a frozen step: it declares the tables it creates itself and never imports
the application, so it means the same thing however the code changes later. Besides
`up(migrator, db)`, each defines `present(db)`, which tells whether a database made
before migrations existed already has the step's changes (schema.py uses it to adopt
such a database).
"""
