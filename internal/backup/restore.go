package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Restored says what Restore did.
type Restored struct {
	// Repositories is how many repositories were restored from the
	// archive.
	Repositories int
	// Skipped is how many repositories of the archive the restored
	// database does not know: they were created after its snapshot.
	Skipped int
}

// Restore fills the new or empty data directory of opts from the archive
// file. With a PostgreSQL Database it restores everything but the
// database, which must come from the archive's pg_dump counterpart; an
// archive holding a SQLite database then is refused. A repository the
// database knows but the archive lacks was deleted while the backup ran;
// it is restored empty, with a notice to opts.Log, so that the server can
// open it.
//
// On error the data directory is emptied again, and a SQLite database
// file outside it removed, so that nothing of a failed restore remains.
func Restore(ctx context.Context, opts Options, file string) (*Restored, error) {
	if entries, err := os.ReadDir(opts.Data); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("the data dir %s is not empty: restore into a new or empty directory", opts.Data)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read data dir: %w", err)
	}
	dbFile, err := sqliteFile(opts)
	if err != nil {
		return nil, err
	}
	if opts.Database != "" && dbFile != "" {
		if _, err := os.Lstat(dbFile); err == nil {
			return nil, fmt.Errorf("the database file %s exists: restore into a new one", dbFile)
		}
	}
	if err := os.MkdirAll(opts.Data, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	// The data dir was empty (or absent) before, so on failure emptying it
	// again loses nothing and lets the operator simply retry.
	ok := false
	defer func() {
		if ok {
			return
		}
		entries, _ := os.ReadDir(opts.Data)
		for _, de := range entries {
			os.RemoveAll(filepath.Join(opts.Data, de.Name()))
		}
		if dbFile != "" {
			os.Remove(dbFile) // it did not exist before
		}
	}()
	stage, err := os.MkdirTemp(opts.Data, ".restore-")
	if err != nil {
		return nil, fmt.Errorf("create temporary dir: %w", err)
	}
	if err := unpack(file, stage); err != nil {
		return nil, err
	}
	var m Manifest
	mj, err := os.ReadFile(filepath.Join(stage, "manifest.json"))
	if err == nil {
		err = json.Unmarshal(mj, &m)
	}
	if err != nil || m.Format != Format {
		return nil, fmt.Errorf("%s is not a gatehouse backup this version can restore", file)
	}

	// keep holds the repository IDs the database knows; nil restores all.
	var keep map[int64]bool
	switch {
	case m.Database == DatabaseSQLite && dbFile == "":
		return nil, errors.New("this backup holds a SQLite database: restore it without a PostgreSQL --database")
	case m.Database == DatabaseSQLite:
		if err := os.MkdirAll(filepath.Dir(dbFile), 0o700); err != nil {
			return nil, fmt.Errorf("create database dir: %w", err)
		}
		if err := os.Rename(filepath.Join(stage, "gatehouse.db"), dbFile); err != nil {
			return nil, fmt.Errorf("restore database: %w", err)
		}
		if keep, err = repoIDs(ctx, opts, dbFile); err != nil {
			return nil, err
		}
	default:
		fmt.Fprintln(opts.log(), "This backup has no database: restore it separately (e.g. with pg_restore).")
	}
	if fi, err := os.Stat(filepath.Join(stage, "tls")); err == nil && fi.IsDir() {
		if err := os.Rename(filepath.Join(stage, "tls"), filepath.Join(opts.Data, "tls")); err != nil {
			return nil, fmt.Errorf("restore TLS files: %w", err)
		}
	}
	r, err := restoreRepositories(ctx, opts, filepath.Join(stage, "repositories"), keep)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(stage); err != nil {
		return nil, fmt.Errorf("remove temporary dir: %w", err)
	}
	ok = true
	return r, nil
}

// repoIDs returns the IDs of every repository in the database at file.
func repoIDs(ctx context.Context, opts Options, file string) (map[int64]bool, error) {
	st, err := opts.open(ctx, file)
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
func restoreRepositories(ctx context.Context, opts Options, from string, keep map[int64]bool) (*Restored, error) {
	repos := opts.Repos
	heads, _ := filepath.Glob(filepath.Join(from, "*.head"))
	seen := map[int64]bool{}
	r := &Restored{}
	for _, h := range heads {
		id, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(h), ".head"), 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("backup holds an unexpected file %s", filepath.Base(h))
		}
		if keep != nil && !keep[id] {
			r.Skipped++
			continue
		}
		seen[id] = true
		b, err := os.ReadFile(h)
		if err != nil {
			return nil, err
		}
		bundle := strings.TrimSuffix(h, ".head") + ".bundle"
		if _, err := os.Stat(bundle); err != nil {
			bundle = ""
		}
		if err := repos.Restore(ctx, id, bundle, strings.TrimSpace(string(b))); err != nil {
			return nil, err
		}
		r.Repositories++
	}
	for id := range keep {
		if !seen[id] {
			fmt.Fprintf(opts.log(), "Repository %d was deleted while the backup ran; restoring it empty.\n", id)
			if err := repos.Restore(ctx, id, "", "refs/heads/main"); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
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
