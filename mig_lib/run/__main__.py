from mig_lib.run.cli import main

raise SystemExit(main())
