"""The `goumai` command: run the whole system, one service, migrations, tokens, docs, the demo."""
