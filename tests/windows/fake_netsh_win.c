/* A stand-in for netsh.exe in a Wine prefix (Wine's own netsh is a stub): the MSI's
 * firewall custom actions run it as `netsh advfirewall firewall add|delete rule name=...`,
 * and it keeps each rule as a file C:\fake_firewall\<name>.<n>.rule holding the arguments
 * (netsh adds a second rule of a name already taken, so a second add makes <n> 2), so
 * that wine_msi.sh can check which rules an install, an upgrade and an uninstall leave.
 * Exit codes follow netsh's: 0 done, 1 no rule matched or bad arguments. Every call is
 * appended to C:\fake_firewall\calls.log. */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#define STATE_DIR "C:\\fake_firewall"
#define MAX_RULES 16

static const char *argument(int argc, char **argv, const char *key)
{
    size_t n = strlen(key);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
    return NULL;
}

static void log_call(int argc, char **argv)
{
    FILE *log = fopen(STATE_DIR "\\calls.log", "a");
    if (log == NULL)
        return;
    for (int i = 1; i < argc; i++)
        fprintf(log, "%s%s", i > 1 ? " " : "", argv[i]);
    fputc('\n', log);
    fclose(log);
}

int main(int argc, char **argv)
{
    CreateDirectoryA(STATE_DIR, NULL);
    log_call(argc, argv);
    const char *name = argument(argc, argv, "name");
    if (argc < 5 || strcmp(argv[1], "advfirewall") != 0 || strcmp(argv[2], "firewall") != 0
        || strcmp(argv[4], "rule") != 0 || name == NULL || name[0] == '\0') {
        puts("The syntax supplied for this command is not valid.");
        return 1;
    }
    char path[MAX_PATH];
    if (strcmp(argv[3], "delete") == 0) { /* every rule of the name, as netsh does */
        int deleted = 0;
        for (int n = 1; n <= MAX_RULES; n++) {
            snprintf(path, sizeof path, STATE_DIR "\\%s.%d.rule", name, n);
            deleted += DeleteFileA(path) != 0;
        }
        if (deleted == 0) {
            puts("No rules match the specified criteria.");
            return 1;
        }
        printf("Deleted %d rule(s).\n", deleted);
        return 0;
    }
    if (strcmp(argv[3], "add") != 0) {
        puts("The syntax supplied for this command is not valid.");
        return 1;
    }
    const char *required[] = { "dir", "action", "program", "remoteip" };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        const char *v = argument(argc, argv, required[i]);
        if (v == NULL || v[0] == '\0') {
            printf("A specified value is not valid: %s.\n", required[i]);
            return 1;
        }
    }
    FILE *rule = NULL;
    for (int n = 1; n <= MAX_RULES && rule == NULL; n++) {
        snprintf(path, sizeof path, STATE_DIR "\\%s.%d.rule", name, n);
        if (GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES)
            rule = fopen(path, "w");
    }
    if (rule == NULL)
        return 1;
    for (int i = 5; i < argc; i++)
        fprintf(rule, "%s\n", argv[i]);
    fclose(rule);
    puts("Ok.");
    return 0;
}
