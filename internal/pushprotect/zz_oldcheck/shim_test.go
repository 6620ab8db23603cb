package pushprotect

import "strings"

const envQuarantine = "GIT_QUARANTINE_PATH"

func getenv(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}
