package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// readArchive returns the names and contents of an archive's entries, in
// order.
func readArchive(t *testing.T, r io.Reader) ([]string, map[string][]byte) {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names, files
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Mode != 0o600 {
			t.Errorf("entry %s: type %c mode %o, want a regular file with mode 600", hdr.Name, hdr.Typeflag, hdr.Mode)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		files[hdr.Name] = b
	}
}

// TestCreateRestore backs up an instance with a pushed repository, an
// empty one, one whose row outlived its directory and one newer than the
// database, and restores it into a new data dir.
func TestCreateRestore(t *testing.T) {
	testenv.Require(t, "git")
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	opts := testOptions(data)
	opts.Version = "1.2.3-test"

	st, err := sqldb.Open(ctx, filepath.Join(data, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	alice := &gatehouse.User{Login: "alice", Email: "alice@example.com"}
	if err := st.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	repos := map[string]*gatehouse.Repo{}
	for _, name := range []string{"demo", "empty", "gone"} {
		r := &gatehouse.Repo{OwnerID: alice.ID, Name: name, DefaultBranch: "main"}
		if err := st.CreateRepo(ctx, r); err != nil {
			t.Fatal(err)
		}
		repos[name] = r
	}
	st.Close()
	const newer = 99 // created after the snapshot: not in the database
	for _, id := range []int64{repos["demo"].ID, repos["empty"].ID, newer} {
		tmp, err := opts.Repos.Prepare(ctx, "main")
		if err != nil {
			t.Fatal(err)
		}
		if err := opts.Repos.Commit(tmp, id); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir()
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	work := t.TempDir()
	git(work, "init", "--quiet")
	if err := os.WriteFile(filepath.Join(work, "README"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(work, "add", "README")
	git(work, "commit", "--quiet", "-m", "first")
	commit := git(work, "rev-parse", "HEAD")
	demo := opts.Repos.Path(repos["demo"].ID)
	git(work, "push", "--quiet", demo, "HEAD:refs/heads/trunk", "HEAD:refs/tags/v1")
	git(demo, "symbolic-ref", "HEAD", "refs/heads/trunk")
	if err := os.MkdirAll(filepath.Join(data, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "tls", "ca.pem"), []byte("CA\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(t.TempDir(), "backup.tar.gz")
	m, err := Create(ctx, opts, file)
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != Format || m.Version != "1.2.3-test" || m.Database != DatabaseSQLite || m.Repositories != 3 || m.Created.IsZero() {
		t.Errorf("manifest %+v", m)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	names, files := readArchive(t, f)
	f.Close()
	want := []string{"gatehouse.db", "tls/ca.pem", "repositories/1.head", "repositories/1.bundle", "repositories/2.head", "repositories/99.head", "manifest.json"}
	if !slices.Equal(names, want) {
		t.Errorf("archive entries %q, want %q", names, want)
	}
	var stored Manifest
	if err := json.Unmarshal(files["manifest.json"], &stored); err != nil || stored != *m {
		t.Errorf("manifest.json %s (%v), want %+v", files["manifest.json"], err, m)
	}
	if got := string(files["repositories/1.head"]); got != "refs/heads/trunk\n" {
		t.Errorf("repositories/1.head = %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".backup.tar.gz.tmp-*")); len(left) > 0 {
		t.Errorf("Create left %q behind", left)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	ropts := testOptions(restored)
	var log bytes.Buffer
	ropts.Log = &log
	r, err := Restore(ctx, ropts, file)
	if err != nil {
		t.Fatal(err)
	}
	if *r != (Restored{Repositories: 2, Skipped: 1}) {
		t.Errorf("Restore = %+v, want 2 restored and 1 skipped", r)
	}
	if want := "Repository 3 was deleted while the backup ran; restoring it empty.\n"; log.String() != want {
		t.Errorf("notices %q, want %q", log.String(), want)
	}
	for _, id := range []int64{1, 2, 3} {
		if !ropts.Repos.Exists(id) {
			t.Errorf("repository %d was not restored", id)
		}
	}
	if ropts.Repos.Exists(newer) {
		t.Errorf("repository %d, newer than the database, was restored", newer)
	}
	rdemo := ropts.Repos.Path(1)
	if got := git(rdemo, "rev-parse", "HEAD", "v1"); got != commit+"\n"+commit {
		t.Errorf("restored HEAD and v1: %q, want %s", got, commit)
	}
	if got := git(rdemo, "symbolic-ref", "HEAD"); got != "refs/heads/trunk" {
		t.Errorf("restored HEAD names %s", got)
	}
	if b, err := os.ReadFile(filepath.Join(restored, "tls", "ca.pem")); err != nil || string(b) != "CA\n" {
		t.Errorf("restored tls/ca.pem: %q, %v", b, err)
	}
	st, err = sqldb.Open(ctx, filepath.Join(restored, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if u, err := st.FindUserByLogin(ctx, "alice"); err != nil || u.Email != "alice@example.com" {
		t.Errorf("restored user alice: %+v, %v", u, err)
	}
	if left, _ := filepath.Glob(filepath.Join(restored, ".restore-*")); len(left) > 0 {
		t.Errorf("Restore left %q behind", left)
	}
}

// TestWriteRepositoriesOnly backs up an instance whose database is
// PostgreSQL and restores what the archive holds.
func TestWriteRepositoriesOnly(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	opts := testOptions(data)
	opts.Database = "postgres://gatehouse@db.invalid/gatehouse"
	opts.RepositoriesOnly = true
	opts.Open = func(context.Context, string) (Store, error) {
		t.Fatal("Open called for a backup without the database")
		return nil, nil
	}
	var buf bytes.Buffer
	m, err := Write(ctx, opts, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if m.Database != DatabaseNone || m.Repositories != 0 {
		t.Errorf("manifest %+v", m)
	}
	archive := buf.Bytes()
	if names, _ := readArchive(t, bytes.NewReader(archive)); !slices.Equal(names, []string{"manifest.json"}) {
		t.Errorf("archive entries %q, want only the manifest", names)
	}

	file := filepath.Join(t.TempDir(), "backup.tar.gz")
	if err := os.WriteFile(file, archive, 0o600); err != nil {
		t.Fatal(err)
	}
	ropts := testOptions(filepath.Join(t.TempDir(), "restored"))
	ropts.Database = opts.Database
	ropts.Open = opts.Open
	var log bytes.Buffer
	ropts.Log = &log
	r, err := Restore(ctx, ropts, file)
	if err != nil {
		t.Fatal(err)
	}
	if *r != (Restored{}) {
		t.Errorf("Restore = %+v, want nothing restored", r)
	}
	if !strings.Contains(log.String(), "This backup has no database: restore it separately") {
		t.Errorf("notices %q do not say the database is missing", log.String())
	}
}

func TestCreateRefusals(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		data, database string
		reposOnly      bool
		want           string
	}{
		"postgres":       {data, "postgres://gatehouse@db.invalid/gatehouse", false, "back it up with pg_dump"},
		"no data dir":    {filepath.Join(dir, "missing"), "", false, "no data dir at " + filepath.Join(dir, "missing") + ": check --data"},
		"data is a file": {filepath.Join(dir, "file"), "", true, "check --data"},
		"no database":    {data, "", false, "no database at " + filepath.Join(data, "gatehouse.db") + ": check --data and --database"},
		"bad URL":        {data, "sqlite:///x.db?mode=ro", false, "parameters are not supported"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			opts := testOptions(c.data)
			opts.Database = c.database
			opts.RepositoriesOnly = c.reposOnly
			file := filepath.Join(dir, "backup.tar.gz")
			_, err := Create(context.Background(), opts, file)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Create: %v, want an error containing %q", err, c.want)
			}
			if entries, _ := filepath.Glob(filepath.Join(dir, "*backup.tar.gz*")); len(entries) > 0 {
				t.Errorf("a failed backup left %q", entries)
			}
		})
	}
}
