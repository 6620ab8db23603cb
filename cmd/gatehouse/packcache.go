package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"

	"github.com/gatehouse/gatehouse/internal/gitrepo"
)

// defaultPackCacheMiB is --pack-cache-size's default.
const defaultPackCacheMiB = 1024

// defaultPackGenerations is --max-pack-generations' default: two per CPU.
// pack-objects uses every CPU while it compresses and little while it
// counts objects or waits for the disk, so two each keep the CPUs busy
// without holding the memory of many.
func defaultPackGenerations() int { return 2 * runtime.NumCPU() }

// packCache returns the pack cache and admission control serve's settings
// ask for (docs/pack-cache.md), with the entries under data, or nil for
// neither.
func (c *serveConfig) packCache(data string, log *slog.Logger) (*gitrepo.PackCache, error) {
	if c.PackCacheMiB == 0 && c.MaxPackGenerations == 0 {
		return nil, nil
	}
	pc := &gitrepo.PackCache{
		MaxBytes:    int64(c.PackCacheMiB) << 20,
		MaxAge:      c.PackCacheMaxAge,
		Generations: c.MaxPackGenerations,
		Wait:        c.PackGenerationWait,
		Log:         log,
	}
	if c.PackCacheMiB > 0 {
		dir := c.PackCacheDir
		if dir == "" {
			dir = filepath.Join(data, "cache", "packs")
		}
		dir, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("pack cache: %w", err)
		}
		pc.Dir = dir
	}
	return pc, nil
}
