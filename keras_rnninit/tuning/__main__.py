import sys

from keras_rnninit.tuning.cli import main

sys.exit(main())
