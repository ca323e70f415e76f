from cmaf.cli import main

raise SystemExit(main())
