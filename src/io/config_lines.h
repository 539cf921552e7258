/* Line-level checks of an INI text before the INI parser sees it.
 *
 * inih reports a malformed line only through its return value and goes
 * on, so a section header missing its ']' ("[model" on line 3) was
 * reported as whatever the following lines then broke ("line 4: unknown
 * key 'kind' in section [data]").  The header is checked here first and
 * reported on its own line. */
#ifndef ZPT_CONFIG_LINES_H
#define ZPT_CONFIG_LINES_H

/* ZPT_OK, or ZPT_EINVAL "ORIGIN:LINE: section header '[model' lacks its
 * closing ']'" for the first such line. */
int zpt_config_check_lines(const char *text, const char *origin);

#endif
