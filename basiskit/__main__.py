from basiskit.cli import main

raise SystemExit(main())
