package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// command is one thing gatehouse does: the words that name it, what it
// takes besides its optional flags, what it does, and the function that
// runs it. The one table (commands) both dispatches and documents, and
// each command's help lists the flags of the flag set it really parses,
// so that the help cannot drift from the code.
type command struct {
	// name is the words, e.g. "admin token create".
	name string
	// args is what the command line must hold besides optional flags,
	// e.g. "--user NAME --note N" or "OWNER/NAME USER".
	args string
	// summary says what it does, in one line.
	summary string
	// about, if set, follows the summary in the command's own help.
	about string
	// env, if set, names the environment variables that stand in for the
	// command's own flags (flag, variable), beside commonEnv.
	env func() [][2]string
	// run runs it with the arguments after its name.
	run func(e *env, ctx context.Context, args []string) error
}

// commands returns every command, in the order help lists them.
func commands() []command {
	return []command{
		{name: "serve", summary: "Run the server: web pages, REST and GraphQL API, git over HTTP(S) and, with --ssh-listen, SSH.",
			about: "Each setting comes from its flag, else from its environment variable, else from its default.\n" +
				"Environment only: " + smtpPasswordEnv + " (the SMTP password, so that it shows in no process list).",
			env: serveEnv, run: (*env).serve},
		{name: "admin user create", args: "--username NAME --email E", run: (*env).userCreate,
			summary: "Create an account (--admin: a site admin). Prints a random password unless --password-stdin."},
		{name: "admin user promote", args: "USER", run: (*env).userPromote,
			summary: "Make an existing user a site admin."},
		{name: "admin repo create", args: "OWNER/NAME", run: (*env).repoCreate,
			summary: "Create a repository."},
		{name: "admin repo collaborator", args: "OWNER/NAME USER", run: (*env).repoCollaborator,
			summary: "Give USER a permission on a repository, or take it away (--permission none)."},
		{name: "admin org create", args: "NAME --owner USER", run: (*env).orgCreate,
			summary: "Create an organization with its first owner."},
		{name: "admin org member add", args: "ORG USER", run: (*env).orgMemberAdd,
			summary: "Add a member to an organization, or change their role (--role admin: an owner)."},
		{name: "admin org token-policy", args: "ORG", run: (*env).orgTokenPolicy,
			summary: "Print an organization's personal access token policy; the flags given change it.",
			about: "E.g. --restrict-classic refuses classic tokens on its repositories; --require-approval=false\n" +
				"lets members' fine-grained tokens reach it without an owner's approval."},
		{name: "admin org token-requests", args: "ORG", run: (*env).orgTokenRequests,
			summary: "List the fine-grained tokens that wait for an owner of an organization to approve them."},
		{name: "admin org token-review", args: "ORG ID --approve|--deny", run: (*env).orgTokenReview,
			summary: "Approve or deny a pending fine-grained token request (IDs: see admin org token-requests); the requester is e-mailed."},
		{name: "admin token create", args: "--user NAME --note N", run: (*env).tokenCreate,
			summary: "Create a personal access token; it is printed on standard output, only now.",
			about: "For gh, give a classic token at least --scopes repo,read:org.\n" +
				"With --fine-grained: a fine-grained token for one resource owner, e.g.\n" +
				"  --fine-grained --owner acme --repos app,docs --permissions contents:write\n" +
				"A token for an organization that requires approval is pending until an owner approves it\n" +
				"(admin org token-review), unless its user is an owner."},
		{name: "admin token list", run: (*env).tokenList,
			summary: "List tokens of both kinds: note, scopes or permissions, resource owner and approval, last eight characters, expiry (never the secret)."},
		{name: "admin token access", args: "ID --repos R --permissions P", run: (*env).tokenAccess,
			summary: "Change a fine-grained token's repositories and permissions; its owner and expiry stay.",
			about: "On an organization that requires approval, a change that reaches further is pending until an owner\n" +
				"approves it (admin org token-review); one that only narrows applies at once."},
		{name: "admin token revoke", args: "ID", run: (*env).tokenRevoke,
			summary: "Revoke a token (IDs: see admin token list)."},
		{name: "admin key add", args: "--user NAME < key.pub", run: (*env).keyAdd,
			summary: "Add an SSH key of a user, read from standard input (a .pub file)."},
		{name: "admin key list", args: "--user NAME", run: (*env).keyList,
			summary: "List a user's SSH keys."},
		{name: "admin key delete", args: "ID", run: (*env).keyDelete,
			summary: "Delete an SSH key; its SSH sessions end."},
		{name: "admin deploy-key add", args: "OWNER/REPO < key.pub", run: (*env).deployKeyAdd,
			summary: "Add a deploy key to a repository, read from standard input (read-only unless --read-write)."},
		{name: "admin deploy-key list", args: "OWNER/REPO", run: (*env).deployKeyList,
			summary: "List a repository's deploy keys."},
		{name: "admin deploy-key delete", args: "OWNER/REPO ID", run: (*env).deployKeyDelete,
			summary: "Delete a deploy key; its SSH sessions end."},
		{name: "backup", args: "FILE", run: (*env).backup,
			summary: "Write a consistent backup, also while serving. PostgreSQL: pg_dump, and --repositories-only here."},
		{name: "restore", args: "FILE", run: (*env).restore,
			summary: "Restore a backup into an empty --data dir."},
		{name: "hook pre-receive", run: (*env).hook, env: mailEnv,
			summary: "Run by git during a push, for push protection; serve sets it up and passes its settings in the environment."},
		{name: "version", run: (*env).version,
			summary: "Print the version."},
		{name: "help", args: "[COMMAND]", run: (*env).help,
			summary: "Print this overview, or a command's flags with their environment variables and defaults."},
	}
}

// commonEnv pairs the flags every command takes with the variables that
// stand in for them.
func commonEnv() [][2]string {
	return [][2]string{
		{"data", "GATEHOUSE_DATA"},
		{"database", "GATEHOUSE_DATABASE_URL"},
		{"token-prefix", "GATEHOUSE_TOKEN_PREFIX"},
	}
}

// findCommand returns the command named name, if there is one.
func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// isGroup reports whether name is the start of longer command names, as
// "admin" and "admin token" are.
func isGroup(name string) bool {
	for _, c := range commands() {
		if strings.HasPrefix(c.name, name+" ") {
			return true
		}
	}
	return false
}

// resolve splits args into the longest run of leading words that names a
// command or a group of commands, and the rest. name is "" when the first
// word names neither.
func resolve(args []string) (name string, leaf bool, rest []string) {
	for i := 1; i <= len(args); i++ {
		if strings.HasPrefix(args[i-1], "-") {
			break
		}
		n := strings.Join(args[:i], " ")
		if _, ok := findCommand(n); ok {
			return n, true, args[i:]
		}
		if !isGroup(n) {
			break
		}
		name, rest = n, args[i:]
	}
	return name, false, rest
}

// isHelpFlag reports whether arg asks for help, as package flag takes it.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "--h", "-help", "--help":
		return true
	}
	return false
}

// helpRequest is what parse returns for -h or --help: run prints the help
// of the command whose flag set it is, on standard output, and exits 0.
type helpRequest struct{ fs *flag.FlagSet }

func (h helpRequest) Error() string { return "help requested for " + h.fs.Name() }

// help runs "gatehouse help [COMMAND]": the overview, the list of a group
// of commands, or a command's own help, which the command prints when
// given --help so that it shows the flags it really parses.
func (e *env) help(ctx context.Context, args []string) error {
	if len(args) == 0 || len(args) == 1 && isHelpFlag(args[0]) {
		printOverview(e.stdout)
		return nil
	}
	name, leaf, rest := resolve(args)
	switch {
	case len(rest) > 0 || name == "":
		return usagef("no command %q", strings.Join(args, " "))
	case !leaf:
		printGroup(e.stdout, name)
		return nil
	case name == "help":
		printOverview(e.stdout)
		return nil
	}
	return e.run(ctx, append(strings.Fields(name), "--help"))
}

// printOverview lists every command.
func printOverview(w io.Writer) {
	fmt.Fprint(w, "Gatehouse is a self-hosted Git server whose access model is GitHub's personal access tokens.\n\n")
	fmt.Fprint(w, "Usage: gatehouse COMMAND [ARGUMENTS] [FLAGS]\n\nCommands:\n")
	for _, c := range commands() {
		printEntry(w, c)
	}
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	(&env{}).common(fs)
	var common []string
	fs.VisitAll(func(f *flag.Flag) { common = append(common, "--"+f.Name) })
	fmt.Fprintf(w, "\nEvery command takes %s (see any command's help).\n", joinAnd(common))
	fmt.Fprint(w, "Run 'gatehouse help COMMAND' or 'gatehouse COMMAND --help' for its flags, their environment variables and defaults.\n")
}

// printGroup lists the commands whose names start with group.
func printGroup(w io.Writer, group string) {
	fmt.Fprintf(w, "Usage: gatehouse %s COMMAND [ARGUMENTS] [FLAGS]\n\nCommands:\n", group)
	for _, c := range commands() {
		if strings.HasPrefix(c.name, group+" ") {
			printEntry(w, c)
		}
	}
	fmt.Fprintf(w, "\nRun 'gatehouse help %s COMMAND' or add --help for a command's flags, their environment variables and defaults.\n", group)
}

func printEntry(w io.Writer, c command) {
	fmt.Fprintf(w, "  gatehouse %s\n      %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
}

// printCommandHelp prints the help of the command whose flag set fs is:
// its synopsis, what it does, and every flag of fs with its environment
// variable and default.
func printCommandHelp(w io.Writer, fs *flag.FlagSet) {
	c, _ := findCommand(fs.Name())
	envOf := map[string]string{}
	common := map[string]bool{}
	for _, fe := range commonEnv() {
		envOf[fe[0]], common[fe[0]] = fe[1], true
	}
	if c.env != nil {
		for _, fe := range c.env() {
			envOf[fe[0]] = fe[1]
		}
	}
	var own, shared []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if common[f.Name] {
			shared = append(shared, f)
		} else {
			own = append(own, f)
		}
	})
	synopsis := strings.TrimSpace(fs.Name() + " " + c.args)
	if len(own)+len(shared) > 0 {
		synopsis += " [FLAGS]"
	}
	fmt.Fprintf(w, "Usage: gatehouse %s\n\n", synopsis)
	if c.summary != "" {
		fmt.Fprintln(w, c.summary)
	}
	if c.about != "" {
		fmt.Fprintln(w, c.about)
	}
	for _, part := range []struct {
		title string
		flags []*flag.Flag
	}{{"Flags", own}, {"Flags of every command", shared}} {
		if len(part.flags) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", part.title)
		sort.Slice(part.flags, func(i, j int) bool { return part.flags[i].Name < part.flags[j].Name })
		for _, f := range part.flags {
			printFlag(w, f, envOf[f.Name])
		}
	}
	if len(own)+len(shared) == 0 {
		fmt.Fprintln(w, "\nIt takes no flags.")
	}
}

// printFlag prints one flag: its name and kind of value, the variable
// that stands in for it, its default, and its usage text.
func printFlag(w io.Writer, f *flag.Flag, env string) {
	kind, usage := flag.UnquoteUsage(f)
	line := "  --" + f.Name
	if kind != "" {
		line += " " + kind
	}
	var notes []string
	if env != "" {
		notes = append(notes, "env "+env)
	}
	if def := defaultText(f); def != "" {
		notes = append(notes, "default "+def)
	}
	if len(notes) > 0 {
		line += "  (" + strings.Join(notes, "; ") + ")"
	}
	fmt.Fprintf(w, "%s\n        %s\n", line, strings.ReplaceAll(usage, "\n", "\n        "))
}

// defaultText is f's default as the help shows it: strings quoted,
// numbers always (0 means something: no limit), and nothing for an empty
// string or false, whose meaning the usage text gives.
func defaultText(f *flag.Flag) string {
	var v any
	if g, ok := f.Value.(flag.Getter); ok {
		v = g.Get()
	}
	switch v.(type) {
	case int, int64, uint, uint64, float64:
		return f.DefValue
	case string:
		if f.DefValue != "" {
			return fmt.Sprintf("%q", f.DefValue)
		}
		return ""
	}
	switch f.DefValue {
	case "", "false", "[]":
		return ""
	}
	return f.DefValue
}

// joinAnd joins a, b and c as "a, b and c".
func joinAnd(items []string) string { return join(items, " and ") }

// joinOr joins a, b and c as "a, b or c".
func joinOr(items []string) string { return join(items, " or ") }

func join(items []string, last string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + last + items[len(items)-1]
}

// version prints the version; it takes no flags.
func (e *env) version(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintln(e.stdout, "gatehouse", versionString())
	return nil
}
