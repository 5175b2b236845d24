EXTENSION = bpr
EXTVERSION = 0.2.0

MODULE_big = bpr
# the released install script and the upgrade path are data; the current script is built
DATA = sql/bpr--0.1.0.sql sql/bpr--0.1.0--0.2.0.sql
DATA_built = sql/bpr--$(EXTVERSION).sql

# src/core: the numeric core, plain C with no PostgreSQL headers, unit-tested on its own
CORE_SRCS = $(sort $(wildcard src/core/*.c))
# src/pg: the PostgreSQL layer (SPI, catalogs, SRFs, GUCs, cache)
PG_SRCS = $(sort $(wildcard src/pg/*.c))
OBJS = $(CORE_SRCS:.c=.o) $(PG_SRCS:.c=.o)
SHLIB_LINK = -lopenblas -lm -lpthread
PG_CPPFLAGS = -Isrc -DBPR_VERSION=\"$(EXTVERSION)\"

# pg_regress: inputs in test/sql, expected outputs in expected/ (test/expected links there)
REGRESS = setup train errors serve coldstart similar foldin warmstart keys versions ownership deploy evaluate quality
# tests that need bpr in shared_preload_libraries (test/run_tests.sh runs them on such a server)
REGRESS_PRELOADED = shared progress
REGRESS_OPTS = --inputdir=test --load-extension=bpr

EXTRA_CLEAN = test/unit/run_unit

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# the versioned install script is the version-less one, copied
sql/bpr--$(EXTVERSION).sql: sql/bpr.sql
	cp $< $@

# PGXS tracks no header dependencies: rebuild every object when a header changes
$(OBJS): $(wildcard src/core/*.h src/pg/*.h)

# Unit tests of the numeric core, built with no PostgreSQL include path at all:
# a core file that includes a PostgreSQL header cannot build here
UNIT_SRCS = $(sort $(wildcard test/unit/*.c))
UNIT_CFLAGS ?= -std=c99 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -D_POSIX_C_SOURCE=200809L

test/unit/run_unit: $(CORE_SRCS) $(UNIT_SRCS) $(wildcard src/core/*.h) $(wildcard test/unit/*.h)
	$(CC) $(UNIT_CFLAGS) -Isrc/core -Itest/unit -o $@ $(CORE_SRCS) $(UNIT_SRCS) -lopenblas -lm -lpthread

.PHONY: unittest
unittest: test/unit/run_unit
	test/unit/run_unit
