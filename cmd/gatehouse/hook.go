package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/pushprotect"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sqldb"
)

// errQuiet ends the process with status 1 after the command has said all
// there is to say.
var errQuiet = errors.New("exit status 1")

// hook runs the pre-receive hook; git starts it through the script that
// serve installs, in the repository, with the environment serve set up.
func (e *env) hook(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("hook pre-receive", flag.ContinueOnError)
	e.common(fs)
	// serve passes its mail settings in the environment (see protectPushes).
	mail := addMailFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("hook pre-receive takes no arguments")
	}
	if err := applyEnvDefaults(fs, mailEnv(), os.Getenv); err != nil {
		return err
	}
	var st *sqldb.DB
	defer func() {
		if st != nil {
			st.Close()
		}
	}()
	h := &pushprotect.Hook{
		Push: pushprotect.PushFromEnv(os.Getenv),
		Guard: func(ctx context.Context) (*pushprotect.Guard, error) {
			var err error
			if st, err = e.openStore(ctx); err != nil {
				return nil, err
			}
			// The owner hears of it by e-mail, through the instance's own
			// mail settings; anything this would log is the server's
			// business, not the pusher's.
			quiet := slog.New(slog.DiscardHandler)
			externalURL := os.Getenv("GATEHOUSE_EXTERNAL_URL")
			mailer, err := mail.mailer(e.data, externalURL, quiet)
			if err != nil {
				return nil, err
			}
			cfg := e.serviceConfig(st, mailer)
			cfg.ExternalURL, cfg.Log = externalURL, quiet
			svc, err := service.New(cfg)
			if err != nil {
				return nil, err
			}
			return &pushprotect.Guard{Service: svc}, nil
		},
	}
	// git gives the hook the repository and its quarantine through the
	// current directory and GIT_* variables: pass them all on.
	err = h.Run(ctx, "", os.Environ(), e.stdin, e.stderr)
	if errors.Is(err, pushprotect.ErrRejected) {
		return errQuiet
	}
	return err
}

// protectPushes installs the pre-receive hook in the data dir and points
// every receive-pack of d at it, with what the hook needs to reach the
// database. Repositories need no setup of their own, old ones included.
func (e *env) protectPushes(d *gitrepo.Dir, externalURL string, mail mailFlags) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("push protection: find own executable: %w", err)
	}
	data, err := filepath.Abs(e.data)
	if err != nil {
		return err
	}
	if d.Hooks, err = pushprotect.Install(filepath.Join(data, "hooks"), exe); err != nil {
		return fmt.Errorf("push protection: %w", err)
	}
	d.HookEnv = []string{"GATEHOUSE_DATA=" + data, "GATEHOUSE_EXTERNAL_URL=" + externalURL,
		"GATEHOUSE_SMTP_ADDR=" + *mail.addr, "GATEHOUSE_SMTP_FROM=" + *mail.from, "GATEHOUSE_SMTP_USER=" + *mail.user}
	if pw := os.Getenv(smtpPasswordEnv); pw != "" {
		d.HookEnv = append(d.HookEnv, smtpPasswordEnv+"="+pw)
	}
	if db := e.database; db != "" {
		// The hook runs inside the repository: a relative SQLite path
		// must not be resolved from there.
		if !strings.Contains(db, ":") {
			if db, err = filepath.Abs(db); err != nil {
				return err
			}
		}
		d.HookEnv = append(d.HookEnv, "GATEHOUSE_DATABASE_URL="+db)
	}
	return nil
}
