#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"

int cli_load_config(struct cli_common *c)
{
	config_defaults(&c->cfg);
	if (c->config_path) {
		char err[512];
		int r = config_load(c->config_path, &c->cfg, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "mcfs: %s\n", err);
			return EXIT_USAGE;
		}
	}
	config_apply_env(&c->cfg);
	enum log_level lvl;
	if (log_level_parse(c->cfg.log_level, &lvl) == 0 && lvl > LOG_LVL_WARN)
		log_set_level(lvl);
	if (!c->meta_url && c->prefer_replica && c->cfg.replica_url[0])
		c->meta_url = c->cfg.replica_url;
	if (!c->meta_url && c->cfg.meta_url[0])
		c->meta_url = c->cfg.meta_url;
	if (!c->region && c->cfg.region[0])
		c->region = c->cfg.region;
	if (!c->meta_url) {
		fprintf(stderr, "mcfs: --meta redis://HOST:PORT[/DB] is required (or [meta] url in "
				"the config file)\n");
		return EXIT_USAGE;
	}
	return 0;
}

int cli_open_vfs(struct cli_common *c, struct vfs **out)
{
	char err[512] = "";
	struct vfs_options o = {.meta_url = c->meta_url,
				.meta_password =
				    c->cfg.meta_password[0] ? c->cfg.meta_password : NULL,
				.region = c->region,
				.cfg = &c->cfg};
	int r = vfs_open(&o, out, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "mcfs: %s\n", err[0] ? err : strerror(-r));
	return r;
}

void cli_error(const char *what, int err)
{
	const char *hint = "";
	if (err == -ECONNREFUSED || err == -ETIMEDOUT || err == -EHOSTUNREACH)
		hint = " (is the server running and reachable?)";
	else if (err == -EACCES)
		hint = " (check the credentials)";
	fprintf(stderr, "mcfs: %s: %s%s\n", what, strerror(-err), hint);
}

void cli_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}
