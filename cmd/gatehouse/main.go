// Command gatehouse is a self-hosted Git server whose access model is
// GitHub's personal access tokens. Run "gatehouse serve" to start it and
// "gatehouse admin …" to manage it, also while it runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/token"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

// usageError is a mistake in the command line: exit status 2. cmd names
// the command whose help explains the right usage, when run knows it.
type usageError struct{ msg, cmd string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{msg: fmt.Sprintf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err == nil {
		return
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "gatehouse: %s; see '%s'\n", strings.ReplaceAll(ue.msg, "\n", " "), strings.TrimSpace("gatehouse help "+ue.cmd))
		os.Exit(2)
	}
	if errors.Is(err, errQuiet) {
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gatehouse: %s\n", oneLine(err))
	os.Exit(1)
}

func oneLine(err error) string {
	msg := gatehouse.ErrorMessage(err)
	if msg == "" {
		msg = err.Error()
	}
	return strings.ReplaceAll(msg, "\n", " ")
}

// env carries what every command needs.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	data           string
	database       string
	prefix         string
}

// common registers the flags every command takes, with their defaults;
// parse then takes those that the arguments leave out from their
// variables (commonEnv).
func (e *env) common(fs *flag.FlagSet) {
	fs.StringVar(&e.data, "data", "./gatehouse-data", "data directory")
	fs.StringVar(&e.database, "database", "", "database URL (default: SQLite in the data dir)")
	fs.StringVar(&e.prefix, "token-prefix", token.DefaultPrefix, "prefix of new tokens")
}

// applyEnvDefaults sets every flag of fs named in pairs (flag, variable)
// that the arguments did not set from its variable, if that is set and
// not empty.
func applyEnvDefaults(fs *flag.FlagSet, pairs [][2]string, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, fe := range pairs {
		f := fs.Lookup(fe[0])
		v := getenv(fe[1])
		if f == nil || given[fe[0]] || v == "" {
			continue
		}
		if err := f.Value.Set(v); err != nil {
			return usagef("%s %q: %v", fe[1], v, err)
		}
	}
	return nil
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printOverview(stderr)
		return usagef("no command given")
	}
	return e.run(ctx, args)
}

// run runs the command args name. A command given -h or --help prints
// its help; a usage error learns the command it is about, so that the
// message can point at that command's help.
func (e *env) run(ctx context.Context, args []string) error {
	switch args[0] {
	case "--version":
		args = append([]string{"version"}, args[1:]...)
	case "-h", "--help", "-help":
		args = append([]string{"help"}, args[1:]...)
	}
	name, leaf, rest := resolve(args)
	switch {
	case name == "":
		return usagef("unknown command %q", args[0])
	case !leaf && len(rest) > 0 && isHelpFlag(rest[0]):
		printGroup(e.stdout, name)
		return nil
	case !leaf && len(rest) > 0 && !strings.HasPrefix(rest[0], "-"):
		return usageError{msg: fmt.Sprintf("unknown command %q", name+" "+rest[0]), cmd: name}
	case !leaf:
		return usageError{msg: fmt.Sprintf("%s needs a command: %s", name, joinOr(verbs(name))), cmd: name}
	}
	c, _ := findCommand(name)
	err := c.run(e, ctx, rest)
	var hr helpRequest
	if errors.As(err, &hr) {
		printCommandHelp(e.stdout, hr.fs)
		return nil
	}
	var ue usageError
	if errors.As(err, &ue) && ue.cmd == "" && name != "help" {
		ue.cmd = name
		return ue
	}
	return err
}

// verbs lists the words that may follow group.
func verbs(group string) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range commands() {
		if rest, ok := strings.CutPrefix(c.name, group+" "); ok {
			w, _, _ := strings.Cut(rest, " ")
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return "0.1.0-dev+" + rev
		}
	}
	return "0.1.0-dev"
}

// parse parses flags that may come before or after positional arguments,
// as in "admin repo create alice/demo --private", then takes the common
// flags the arguments leave out from the environment. For -h or --help it
// returns a helpRequest.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, helpRequest{fs}
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, applyEnvDefaults(fs, commonEnv(), os.Getenv)
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (e *env) openStore(ctx context.Context) (*sqldb.DB, error) {
	url := e.database
	if url == "" {
		if err := os.MkdirAll(e.data, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir %s: %w", e.data, err)
		}
		url = filepath.Join(e.data, "gatehouse.db")
	}
	st, err := sqldb.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
}

func (e *env) repoDir() *gitrepo.Dir {
	return &gitrepo.Dir{Root: filepath.Join(e.data, "repositories")}
}

// serviceConfig is the service's configuration over st, the same for
// serve, the command line and the push hook; each adds what only it has.
func (e *env) serviceConfig(st *sqldb.DB, mailer gatehouse.Mailer) service.Config {
	return service.Config{Store: st, Audit: st, Keys: st, Sessions: st, Reminders: st, Orgs: st,
		Repos: e.repoDir(), Mailer: mailer, TokenPrefix: e.prefix}
}

// open opens the database and builds the command line's service over it.
// The command line acts as the system: the audit log shows its changes
// as the operator's, and a revocation from here as an administrator's.
// E-mail it causes goes to the outbox folder of the data dir.
func (e *env) open(ctx context.Context) (*service.Service, func(), error) {
	st, err := e.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	outbox := &notify.Outbox{Dir: filepath.Join(e.data, "outbox"), From: &mail.Address{Name: "Gatehouse", Address: "gatehouse@localhost"}}
	svc, err := service.New(e.serviceConfig(st, outbox))
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return svc, func() { st.Close() }, nil
}
