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

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `Usage:
  gatehouse serve [--listen 127.0.0.1:3000] [--external-url URL] [--tls-cert F --tls-key F | --tls-self-signed]
  gatehouse admin user create --username NAME --email E [--admin] [--password-stdin]
  gatehouse admin repo create OWNER/NAME [--private] [--description D]
  gatehouse admin repo collaborator OWNER/NAME USER [--permission read|write|admin|none]
  gatehouse admin org create NAME --owner USER [--name "Profile name"] [--email E]
  gatehouse admin org member add ORG USER [--role member|admin]   # admin: an owner
  gatehouse admin token create --user NAME --note N [--scopes repo,read:org] [--expires 30d|YYYY-MM-DD|never]
  gatehouse admin token list [--user NAME] [--json]
  gatehouse admin token revoke ID
  gatehouse backup FILE [--repositories-only]   # consistent while serving; PostgreSQL: pg_dump + --repositories-only
  gatehouse restore FILE                        # into an empty --data dir
  gatehouse version
  gatehouse hook pre-receive      # run by git during a push (push protection)

Every command takes --data DIR (env GATEHOUSE_DATA, default ./gatehouse-data) and
--database URL (env GATEHOUSE_DATABASE_URL, default the SQLite file in the data dir).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err == nil {
		return
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "gatehouse: %s\nRun 'gatehouse help' for usage.\n", ue.msg)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
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

// common registers the flags every command takes.
func (e *env) common(fs *flag.FlagSet) {
	fs.StringVar(&e.data, "data", envOr("GATEHOUSE_DATA", "./gatehouse-data"), "data directory")
	fs.StringVar(&e.database, "database", os.Getenv("GATEHOUSE_DATABASE_URL"), "database URL (default: SQLite in the data dir)")
	fs.StringVar(&e.prefix, "token-prefix", envOr("GATEHOUSE_TOKEN_PREFIX", token.DefaultPrefix), "prefix of new tokens")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	switch args[0] {
	case "serve":
		return e.serve(ctx, args[1:])
	case "admin":
		return e.admin(ctx, args[1:])
	case "backup":
		return e.backup(ctx, args[1:])
	case "restore":
		return e.restore(ctx, args[1:])
	case "hook":
		return e.hook(ctx, args[1:])
	case "version", "--version":
		fmt.Fprintln(stdout, "gatehouse", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown command %q", args[0])
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
// as in "admin repo create alice/demo --private".
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, usagef("usage of %s: see 'gatehouse help'", fs.Name())
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
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
