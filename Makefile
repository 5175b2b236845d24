EXTENSION = bpr
EXTVERSION = 0.1.0

MODULE_big = bpr
DATA = sql/bpr--0.1.0.sql
# the numeric core: plain C, no PostgreSQL headers, unit-tested on its own
CORE_OBJS = src/core.o src/rng.o src/adam.o src/loss.o src/tower.o \
	src/sampler.o src/topk.o src/metrics.o src/trainer.o src/evaluation.o src/calibration.o
# the PostgreSQL layer
PG_OBJS = src/bpr.o src/train_args.o src/encode.o src/dataset.o src/train.o \
	src/store.o src/model_cache.o src/serve.o src/evaluate.o
OBJS = $(CORE_OBJS) $(PG_OBJS)
SHLIB_LINK = -lopenblas -lm
PG_CFLAGS = -Isrc

REGRESS = setup train errors serve coldstart versions evaluate quality
REGRESS_OPTS = --load-extension=bpr

EXTRA_CLEAN = test/unit/run_unit

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: rebuild every object when a header changes
$(OBJS): $(wildcard src/*.h)

# Standalone unit tests of the numeric core (no PostgreSQL needed)
CORE_SRCS = $(CORE_OBJS:.o=.c)
UNIT_SRCS = $(wildcard test/unit/*.c)
UNIT_CFLAGS ?= -std=c99 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -D_POSIX_C_SOURCE=200809L

test/unit/run_unit: $(CORE_SRCS) $(UNIT_SRCS) $(wildcard src/*.h) $(wildcard test/unit/*.h)
	$(CC) $(UNIT_CFLAGS) -Isrc -Itest/unit -o $@ $(CORE_SRCS) $(UNIT_SRCS) -lopenblas -lm

.PHONY: unittest
unittest: test/unit/run_unit
	test/unit/run_unit
