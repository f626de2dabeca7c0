from __future__ import annotations

from issuegraph.cli import main

raise SystemExit(main())
