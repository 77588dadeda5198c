# make demo: the article's experiments, for real (issue #5). Included from
# the top Makefile. As root on Debian 12 it installs what is missing, builds
# the library and the demo's tools, runs demo/run.sh (PID namespaces), then
# demo/containers.sh (podman and the docker CLI, from demo/Dockerfile).
#
#   make demo                      everything
#   make demo DEMO_CONTAINERS=0    the namespace experiments only
#   make demo-tools                just build/demo/nsrun and the demo's app

DEMO_PKGS  := redis-server redis-tools tini dumb-init util-linux procps runc podman debootstrap
DEMO_TOOLS := $(BUILD)/demo/nsrun $(BUILD)/demo/term_app
DEMO_CFLAGS := $(BASE) -O2 $(EXTRA_CFLAGS)

$(BUILD)/demo:
	mkdir -p $@

$(BUILD)/demo/nsrun: demo/nsrun.c | $(BUILD)/demo
	$(CC) $(DEMO_CFLAGS) -o $@ $< $(EXTRA_LDFLAGS)

$(BUILD)/demo/term_app: demo/apps/term_app.c | $(BUILD)/demo
	$(CC) $(DEMO_CFLAGS) -o $@ $< $(EXTRA_LDFLAGS)

demo-tools: $(DEMO_TOOLS)

demo:
	@tests/deps.sh $(DEMO_PKGS)
	$(MAKE) all demo-tools
	BUILD=$(BUILD) DEMO_CONTAINERS=$(or $(DEMO_CONTAINERS),1) demo/run.sh

.PHONY: demo demo-tools
