package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/sqldb"
)

// backupFormat is the version of the archive layout below; restore refuses
// others.
//
//	manifest.json               backupManifest
//	gatehouse.db                SQLite snapshot (absent with --repositories-only)
//	tls/…                       the self-signed TLS material, if any
//	repositories/ID.head        the ref HEAD names
//	repositories/ID.bundle      every ref and its objects (absent for a repository without refs)
const backupFormat = 1

// backupManifest describes an archive.
type backupManifest struct {
	Format       int       `json:"format"`
	Version      string    `json:"version"`
	Created      time.Time `json:"created"`
	Database     string    `json:"database"` // "sqlite" or "none"
	Repositories int       `json:"repositories"`
}

var repoDirRE = regexp.MustCompile(`^([1-9][0-9]*)\.git$`)

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
	file := pos[0]
	if sqldb.IsPostgres(e.database) && !*reposOnly {
		return errors.New("the database is PostgreSQL: back it up with pg_dump and run 'gatehouse backup --repositories-only FILE' for the repositories")
	}
	if fi, err := os.Stat(e.data); err != nil || !fi.IsDir() {
		return fmt.Errorf("no data dir at %s: check --data", e.data)
	}
	stage, err := os.MkdirTemp("", "gatehouse-backup-")
	if err != nil {
		return fmt.Errorf("create temporary dir: %w", err)
	}
	defer os.RemoveAll(stage)

	// The database first, then the repositories: every repository row in
	// the snapshot then has its repository in the archive (repositories
	// are deleted only after their row). Repositories created after the
	// snapshot come along too; restore skips them.
	m := backupManifest{Format: backupFormat, Version: versionString(), Created: time.Now().UTC(), Database: "none"}
	snapshot := ""
	if !*reposOnly {
		if snapshot, err = e.snapshotDatabase(ctx, stage); err != nil {
			return err
		}
		m.Database = "sqlite"
	}

	dir := filepath.Dir(file)
	out, err := os.CreateTemp(dir, "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create backup file: %w", err)
	}
	tmpName := out.Name()
	done := false
	defer func() {
		if !done {
			out.Close()
			os.Remove(tmpName)
		}
	}()
	zw := gzip.NewWriter(out)
	tw := tar.NewWriter(zw)
	if snapshot != "" {
		if err := addFile(tw, "gatehouse.db", snapshot); err != nil {
			return err
		}
		os.Remove(snapshot)
	}
	if err := addTree(tw, filepath.Join(e.data, "tls"), "tls"); err != nil {
		return err
	}
	n, err := e.backupRepositories(ctx, tw, stage)
	if err != nil {
		return err
	}
	m.Repositories = n
	mj, _ := json.MarshalIndent(m, "", "  ")
	if err := addBytes(tw, "manifest.json", mj); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	if err := os.Rename(tmpName, file); err != nil {
		return fmt.Errorf("move backup into place: %w", err)
	}
	done = true
	what := "the database and"
	if *reposOnly {
		what = "(no database)"
	}
	fmt.Fprintf(e.stderr, "Backed up %s %d repositories to %s.\n", what, n, file)
	return nil
}

// snapshotDatabase writes a consistent copy of the SQLite database into
// stage and returns its path.
func (e *env) snapshotDatabase(ctx context.Context, stage string) (string, error) {
	src := filepath.Join(e.data, "gatehouse.db")
	if e.database != "" {
		var err error
		if src, err = sqldb.SQLiteFile(e.database); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(src); err != nil {
		return "", fmt.Errorf("no database at %s: check --data and --database", src)
	}
	st, err := sqldb.Open(ctx, src)
	if err != nil {
		return "", fmt.Errorf("open database: %w", err)
	}
	defer st.Close()
	dest := filepath.Join(stage, "gatehouse.db")
	if err := st.Snapshot(ctx, dest); err != nil {
		return "", err
	}
	return dest, nil
}

// backupRepositories adds every repository on disk to tw, one at a time.
func (e *env) backupRepositories(ctx context.Context, tw *tar.Writer, stage string) (int, error) {
	repos := e.repoDir()
	entries, err := os.ReadDir(repos.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list repositories: %w", err)
	}
	stage, err = filepath.Abs(stage)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, de := range entries {
		m := repoDirRE.FindStringSubmatch(de.Name())
		if m == nil || !de.IsDir() {
			continue // temporary and deleted repositories
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		bundle := filepath.Join(stage, m[1]+".bundle")
		head, hasRefs, err := repos.Backup(ctx, id, bundle)
		if err != nil {
			if !repos.Exists(id) {
				continue // deleted meanwhile, and so after the snapshot
			}
			return 0, err
		}
		if err := addBytes(tw, "repositories/"+m[1]+".head", []byte(head+"\n")); err != nil {
			return 0, err
		}
		if hasRefs {
			if err := addFile(tw, "repositories/"+m[1]+".bundle", bundle); err != nil {
				return 0, err
			}
			os.Remove(bundle)
		}
		n++
	}
	return n, nil
}

func addBytes(tw *tar.Writer, name string, b []byte) error {
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), ModTime: time.Now(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	if _, err := tw.Write(b); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	return nil
}

func addFile(tw *tar.Writer, name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("back up %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("back up %s: %w", name, err)
	}
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	return nil
}

// addTree adds the regular files under dir, if it exists, as prefix/….
func addTree(tw *tar.Writer, dir, prefix string) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("back up %s: %w", prefix, err)
	}
	sort.Strings(files)
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		if err := addFile(tw, prefix+"/"+filepath.ToSlash(rel), p); err != nil {
			return err
		}
	}
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
	if entries, err := os.ReadDir(e.data); err == nil && len(entries) > 0 {
		return fmt.Errorf("the data dir %s is not empty: restore into a new or empty directory", e.data)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read data dir: %w", err)
	}
	dbFile := filepath.Join(e.data, "gatehouse.db")
	if sqldb.IsPostgres(e.database) {
		dbFile = ""
	} else if e.database != "" {
		if dbFile, err = sqldb.SQLiteFile(e.database); err != nil {
			return err
		}
		if _, err := os.Lstat(dbFile); err == nil {
			return fmt.Errorf("the database file %s exists: restore into a new one", dbFile)
		}
	}
	if err := os.MkdirAll(e.data, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	// The data dir was empty (or absent) before, so on failure emptying it
	// again loses nothing and lets the operator simply retry.
	ok := false
	defer func() {
		if ok {
			return
		}
		entries, _ := os.ReadDir(e.data)
		for _, de := range entries {
			os.RemoveAll(filepath.Join(e.data, de.Name()))
		}
		if dbFile != "" {
			os.Remove(dbFile) // it did not exist before
		}
	}()
	stage, err := os.MkdirTemp(e.data, ".restore-")
	if err != nil {
		return fmt.Errorf("create temporary dir: %w", err)
	}
	if err := unpack(pos[0], stage); err != nil {
		return err
	}
	var m backupManifest
	mj, err := os.ReadFile(filepath.Join(stage, "manifest.json"))
	if err == nil {
		err = json.Unmarshal(mj, &m)
	}
	if err != nil || m.Format != backupFormat {
		return fmt.Errorf("%s is not a gatehouse backup this version can restore", pos[0])
	}

	// keep holds the repository IDs the database knows; nil restores all.
	var keep map[int64]bool
	switch {
	case m.Database == "sqlite" && dbFile == "":
		return errors.New("this backup holds a SQLite database: restore it without a PostgreSQL --database")
	case m.Database == "sqlite":
		if err := os.MkdirAll(filepath.Dir(dbFile), 0o700); err != nil {
			return fmt.Errorf("create database dir: %w", err)
		}
		if err := os.Rename(filepath.Join(stage, "gatehouse.db"), dbFile); err != nil {
			return fmt.Errorf("restore database: %w", err)
		}
		if keep, err = repoIDs(ctx, dbFile); err != nil {
			return err
		}
	default:
		fmt.Fprintln(e.stderr, "This backup has no database: restore it separately (e.g. with pg_restore).")
	}
	if fi, err := os.Stat(filepath.Join(stage, "tls")); err == nil && fi.IsDir() {
		if err := os.Rename(filepath.Join(stage, "tls"), filepath.Join(e.data, "tls")); err != nil {
			return fmt.Errorf("restore TLS files: %w", err)
		}
	}
	restored, skipped, err := e.restoreRepositories(ctx, filepath.Join(stage, "repositories"), keep)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(stage); err != nil {
		return fmt.Errorf("remove temporary dir: %w", err)
	}
	ok = true
	fmt.Fprintf(e.stderr, "Restored %d repositories into %s", restored, e.data)
	if skipped > 0 {
		fmt.Fprintf(e.stderr, "; skipped %d created after the database snapshot", skipped)
	}
	fmt.Fprintln(e.stderr, ".")
	return nil
}

// repoIDs returns the IDs of every repository in the database at file.
func repoIDs(ctx context.Context, file string) (map[int64]bool, error) {
	st, err := sqldb.Open(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("open restored database: %w", err)
	}
	defer st.Close()
	ids := map[int64]bool{}
	for page := 1; ; page++ {
		rs, err := st.ListRepos(ctx, gatehouse.RepoFilter{}, gatehouse.Page{Page: page, PerPage: 100})
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			ids[r.ID] = true
		}
		if len(rs) < 100 {
			return ids, nil
		}
	}
}

// restoreRepositories restores each repository under from whose ID is in
// keep (all if keep is nil). A repository the database has but the backup
// lacks can only have been deleted while the backup ran; it gets an empty
// repository so that the server can open it.
func (e *env) restoreRepositories(ctx context.Context, from string, keep map[int64]bool) (restored, skipped int, err error) {
	repos := e.repoDir()
	heads, _ := filepath.Glob(filepath.Join(from, "*.head"))
	seen := map[int64]bool{}
	for _, h := range heads {
		id, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(h), ".head"), 10, 64)
		if err != nil || id <= 0 {
			return 0, 0, fmt.Errorf("backup holds an unexpected file %s", filepath.Base(h))
		}
		if keep != nil && !keep[id] {
			skipped++
			continue
		}
		seen[id] = true
		b, err := os.ReadFile(h)
		if err != nil {
			return 0, 0, err
		}
		bundle := strings.TrimSuffix(h, ".head") + ".bundle"
		if _, err := os.Stat(bundle); err != nil {
			bundle = ""
		}
		if err := repos.Restore(ctx, id, bundle, strings.TrimSpace(string(b))); err != nil {
			return 0, 0, err
		}
		restored++
	}
	for id := range keep {
		if !seen[id] {
			fmt.Fprintf(e.stderr, "Repository %d was deleted while the backup ran; restoring it empty.\n", id)
			if err := repos.Restore(ctx, id, "", "refs/heads/main"); err != nil {
				return 0, 0, err
			}
		}
	}
	return restored, skipped, nil
}

// unpack extracts the gzip-compressed tar file into dir, which must be
// empty. It accepts only regular files and directories with relative
// names that stay inside dir, so that a crafted archive cannot write
// elsewhere (no absolute paths, no "..", no links).
func unpack(file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open backup: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s is not a gatehouse backup: %w", file, err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read backup: %w", err)
		}
		if (hdr.Name == "./" || hdr.Name == ".") && hdr.Typeflag == tar.TypeDir {
			continue // "./", as tar -C dir . writes it
		}
		name, err := entryPath(hdr.Name)
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o700); err != nil {
				return fmt.Errorf("restore %s: %w", name, err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
				return fmt.Errorf("restore %s: %w", name, err)
			}
			out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("restore %s: %w", name, err)
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("restore %s: %w", name, err)
			}
		default:
			return fmt.Errorf("backup entry %q is not a regular file or directory: refusing it", hdr.Name)
		}
	}
}

// entryPath checks an archive entry name and returns it cleaned.
func entryPath(name string) (string, error) {
	clean := path.Clean(name)
	if name == "" || path.IsAbs(name) || strings.HasPrefix(name, `\`) || filepath.IsAbs(name) || clean == "." ||
		strings.Contains(name, `\`) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("backup entry %q is outside the data dir: refusing it", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("backup entry %q is outside the data dir: refusing it", name)
		}
	}
	return clean, nil
}
