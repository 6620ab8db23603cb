package notify

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// LeakMessage writes the mail telling u that push protection found their
// token t in a push and revoked it, in their language: Japanese when they
// chose it, English otherwise. It names the token by note and last eight
// characters, never in full.
func LeakMessage(u *gatehouse.User, t *gatehouse.Token, l gatehouse.TokenLeak, baseURL string) gatehouse.Message {
	note := printable(t.Note)
	var b strings.Builder
	var subject string
	if l.Repo == "" {
		return reportedMessage(u, t, note, baseURL)
	}
	if strings.HasPrefix(u.Locale, "ja") {
		pusher := l.Pusher
		if pusher == "" {
			pusher = "不明なユーザー"
		}
		subject = fmt.Sprintf("[Gatehouse] 個人用アクセストークン「%s」がプッシュの中に見つかったため取り消しました", shorten(note, 40))
		fmt.Fprintf(&b, "%s さん\n\n", u.Login)
		fmt.Fprintf(&b, "個人用アクセストークン「%s」(…%s)が、%s による %s へのプッシュの中に見つかりました。", note, t.LastEight, pusher, l.Repo)
		b.WriteString("このトークンは取り消され、もう使えません。\n\n")
		if l.Commit != "" {
			fmt.Fprintf(&b, "  コミット: %s\n", l.Commit)
		}
		fmt.Fprintf(&b, "  場所:     %s\n\n", l.Location)
		b.WriteString("プッシュは拒否されたので、トークンはリポジトリには入っていません。ただし、トークンを含むコミットは\n" +
			"作成された場所に残っているため、このトークンは他人に知られたものとして扱ってください。\n\n")
		b.WriteString("まだトークンが必要なら、新しく作成してください")
		if baseURL != "" {
			fmt.Fprintf(&b, ":\n\n  %s%s\n", baseURL, tokensPath(t))
		} else {
			b.WriteString("(設定 > 開発者設定 > 個人用アクセストークン)。\n")
		}
	} else {
		pusher := l.Pusher
		if pusher == "" {
			pusher = "an unknown user"
		}
		subject = fmt.Sprintf("[Gatehouse] Your personal access token %q was found in a push and revoked", note)
		fmt.Fprintf(&b, "Hello %s,\n\n", u.Login)
		fmt.Fprintf(&b, "Your personal access token %q (ending in %s) was found in a push to\n%s by %s. ", note, t.LastEight, l.Repo, pusher)
		b.WriteString("It has been revoked and no longer works.\n\n")
		if l.Commit != "" {
			fmt.Fprintf(&b, "  commit: %s\n", l.Commit)
		}
		fmt.Fprintf(&b, "  where:  %s\n\n", l.Location)
		b.WriteString("The push was rejected, so the token is not in the repository; but the\n" +
			"commit that holds it exists wherever it was made, so the token must be\n" +
			"treated as known to others.\n\n")
		b.WriteString("If you still need a token, create a new one")
		if baseURL != "" {
			fmt.Fprintf(&b, ":\n\n  %s%s\n", baseURL, tokensPath(t))
		} else {
			b.WriteString(" under Settings > Developer settings > Personal access tokens.\n")
		}
	}
	return gatehouse.Message{To: u.Email, Subject: subject, Body: b.String()}
}

// reportedMessage is the mail about a token someone reported as exposed
// through the revocation endpoint, which says nothing of where they found
// it.
func reportedMessage(u *gatehouse.User, t *gatehouse.Token, note, baseURL string) gatehouse.Message {
	var b strings.Builder
	var subject string
	if strings.HasPrefix(u.Locale, "ja") {
		subject = fmt.Sprintf("[Gatehouse] 個人用アクセストークン「%s」が流出の報告を受けたため取り消しました", shorten(note, 40))
		fmt.Fprintf(&b, "%s さん\n\n", u.Login)
		fmt.Fprintf(&b, "個人用アクセストークン「%s」(…%s)が公開された場所で見つかったと報告されたため、取り消しました。もう使えません。\n\n", note, t.LastEight)
		b.WriteString("このトークンは他人に知られたものとして扱い、使っていた場所から取り除いてください。")
		if baseURL != "" {
			fmt.Fprintf(&b, "新しいトークンはここで作成できます:\n\n  %s%s\n", baseURL, tokensPath(t))
		} else {
			b.WriteString("\n")
		}
	} else {
		subject = fmt.Sprintf("[Gatehouse] Your personal access token %q was reported as exposed and revoked", note)
		fmt.Fprintf(&b, "Hello %s,\n\n", u.Login)
		fmt.Fprintf(&b, "Your personal access token %q (ending in %s) was reported as found exposed, so it\nhas been revoked and no longer works.\n\n", note, t.LastEight)
		b.WriteString("Treat it as known to others and remove it wherever it was used.")
		if baseURL != "" {
			fmt.Fprintf(&b, " Create a new one at:\n\n  %s%s\n", baseURL, tokensPath(t))
		} else {
			b.WriteString("\n")
		}
	}
	return gatehouse.Message{To: u.Email, Subject: subject, Body: b.String()}
}
