package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/backup"
	"github.com/gatehouse/gatehouse/internal/sqldb"
)

func (e *env) backup(ctx context.Context, args []string) error {
	fl := flag.NewFlagSet("backup", flag.ContinueOnError)
	e.common(fl)
	reposOnly := fl.Bool("repositories-only", false, "leave out the database (for PostgreSQL, which pg_dump backs up)")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("backup needs the FILE to write")
	}
	opts := e.backupOptions()
	opts.RepositoriesOnly = *reposOnly
	m, err := backup.Create(ctx, opts, pos[0])
	if err != nil {
		return err
	}
	what := "the database and"
	if *reposOnly {
		what = "(no database)"
	}
	fmt.Fprintf(e.stderr, "Backed up %s %d repositories to %s.\n", what, m.Repositories, pos[0])
	return nil
}

func (e *env) restore(ctx context.Context, args []string) error {
	fl := flag.NewFlagSet("restore", flag.ContinueOnError)
	e.common(fl)
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("restore needs the backup FILE to read")
	}
	r, err := backup.Restore(ctx, e.backupOptions(), pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Restored %d repositories into %s", r.Repositories, e.data)
	if r.Skipped > 0 {
		fmt.Fprintf(e.stderr, "; skipped %d created after the database snapshot", r.Skipped)
	}
	fmt.Fprintln(e.stderr, ".")
	return nil
}

// backupOptions names this instance's data for package backup.
func (e *env) backupOptions() backup.Options {
	return backup.Options{
		Data:     e.data,
		Database: e.database,
		Repos:    e.repoDir(),
		Open:     openSQLite,
		Version:  versionString(),
		Log:      e.stderr,
	}
}

// openSQLite opens a SQLite database file for package backup.
func openSQLite(ctx context.Context, file string) (backup.Store, error) {
	db, err := sqldb.Open(ctx, file)
	if err != nil {
		return nil, err // not a nil *sqldb.DB in a non-nil interface
	}
	return db, nil
}
