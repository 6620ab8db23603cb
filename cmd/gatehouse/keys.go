package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The SSH key commands ("admin key …" and "admin deploy-key …") manage
// SSH keys of users and of repositories, as the system. A public key is
// read from standard input in authorized_keys form (a .pub file).

// readPublicKey reads one public key from r: the first line that is not
// empty or a comment.
func readPublicKey(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return "", fmt.Errorf("read the public key from standard input: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line, nil
		}
	}
	return "", usagef("no public key on standard input: give it a .pub file, e.g. < ~/.ssh/id_ed25519.pub")
}

func (e *env) keyAdd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin key add", flag.ContinueOnError)
	e.common(fs)
	user := fs.String("user", "", "owner of the key")
	title := fs.String("title", "", "name of the key (default: the key's comment)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *user == "" {
		return usagef("admin key add needs --user, and the public key on standard input")
	}
	key, err := readPublicKey(e.stdin)
	if err != nil {
		return err
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	system := gatehouse.SystemActor()
	u, err := svc.FindUser(ctx, system, *user)
	if err != nil {
		return err
	}
	k, err := svc.CreateKey(ctx, system, u.ID, *title, key)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, k.ID)
	fmt.Fprintf(e.stderr, "Added key %d %q for %s: %s\n", k.ID, k.Title, u.Login, k.Fingerprint)
	return nil
}

func (e *env) keyList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin key list", flag.ContinueOnError)
	e.common(fs)
	user := fs.String("user", "", "owner of the keys")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *user == "" {
		return usagef("admin key list needs --user")
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	system := gatehouse.SystemActor()
	u, err := svc.FindUser(ctx, system, *user)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tFINGERPRINT\tADDED\tLAST USED")
	for page := 1; ; page++ {
		ks, err := svc.ListKeys(ctx, system, u.ID, gatehouse.Page{Page: page, PerPage: 100})
		if err != nil {
			return err
		}
		for _, k := range ks {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", k.ID, k.Title, k.Fingerprint, k.CreatedAt.UTC().Format("2006-01-02"), lastUsed(k.LastUsedAt))
		}
		if len(ks) < 100 {
			break
		}
	}
	return tw.Flush()
}

func (e *env) keyDelete(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin key delete", flag.ContinueOnError)
	e.common(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("admin key delete needs the key's ID (see admin key list)")
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return usagef("%q is not a key ID", pos[0])
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	if err := svc.DeleteKey(ctx, gatehouse.SystemActor(), id); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Deleted key %d; its SSH sessions end now.\n", id)
	return nil
}

// splitRepo splits OWNER/REPO.
func splitRepo(full string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(full, "/")
	if !ok || owner == "" || name == "" {
		return "", "", usagef("%q is not OWNER/REPO", full)
	}
	return owner, name, nil
}

// findRepo finds OWNER/REPO as the system.
func (e *env) findRepo(ctx context.Context, svc *service.Service, full string) (*gatehouse.Repo, error) {
	owner, name, err := splitRepo(full)
	if err != nil {
		return nil, err
	}
	r, _, err := svc.Repo(ctx, gatehouse.SystemActor(), owner, name, authz.Admin)
	return r, err
}

func (e *env) deployKeyAdd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin deploy-key add", flag.ContinueOnError)
	e.common(fs)
	title := fs.String("title", "", "name of the key (default: the key's comment)")
	readWrite := fs.Bool("read-write", false, "let the key push (default: clone and fetch only)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("admin deploy-key add needs OWNER/REPO, and the public key on standard input")
	}
	if _, _, err := splitRepo(pos[0]); err != nil {
		return err
	}
	key, err := readPublicKey(e.stdin)
	if err != nil {
		return err
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	r, err := e.findRepo(ctx, svc, pos[0])
	if err != nil {
		return err
	}
	k, err := svc.CreateDeployKey(ctx, gatehouse.SystemActor(), r, *title, key, !*readWrite)
	if err != nil {
		return err
	}
	access := "read-only"
	if !k.ReadOnly {
		access = "read-write"
	}
	fmt.Fprintln(e.stdout, k.ID)
	fmt.Fprintf(e.stderr, "Added %s deploy key %d %q to %s: %s\n", access, k.ID, k.Title, r.FullName(), k.Fingerprint)
	return nil
}

func (e *env) deployKeyList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin deploy-key list", flag.ContinueOnError)
	e.common(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("admin deploy-key list needs OWNER/REPO")
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	r, err := e.findRepo(ctx, svc, pos[0])
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tACCESS\tFINGERPRINT\tADDED\tLAST USED")
	for page := 1; ; page++ {
		ks, err := svc.ListDeployKeys(ctx, gatehouse.SystemActor(), r, gatehouse.Page{Page: page, PerPage: 100})
		if err != nil {
			return err
		}
		for _, k := range ks {
			access := "read-only"
			if !k.ReadOnly {
				access = "read-write"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Title, access, k.Fingerprint, k.CreatedAt.UTC().Format("2006-01-02"), lastUsed(k.LastUsedAt))
		}
		if len(ks) < 100 {
			break
		}
	}
	return tw.Flush()
}

func (e *env) deployKeyDelete(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin deploy-key delete", flag.ContinueOnError)
	e.common(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("admin deploy-key delete needs OWNER/REPO and the key's ID (see admin deploy-key list)")
	}
	id, err := strconv.ParseInt(pos[1], 10, 64)
	if err != nil {
		return usagef("%q is not a key ID", pos[1])
	}
	svc, done, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	r, err := e.findRepo(ctx, svc, pos[0])
	if err != nil {
		return err
	}
	if err := svc.DeleteDeployKey(ctx, gatehouse.SystemActor(), r, id); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Deleted deploy key %d of %s; its SSH sessions end now.\n", id, r.FullName())
	return nil
}

func lastUsed(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04")
}
