package notify

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// ReviewMessage tells the requester of a fine-grained token what an owner
// of org decided about it, in their language.
func ReviewMessage(u *gatehouse.User, t *gatehouse.Token, org *gatehouse.User, approved bool, reason, baseURL string) gatehouse.Message {
	note := printable(t.Note)
	reason = printable(reason)
	var b strings.Builder
	var subject string
	link := ""
	if baseURL != "" {
		link = fmt.Sprintf("%s/settings/personal-access-tokens/%d", baseURL, t.ID)
	}
	if strings.HasPrefix(u.Locale, "ja") {
		fmt.Fprintf(&b, "%s さん\n\n", u.Login)
		if approved {
			subject = fmt.Sprintf("[Gatehouse] %s がトークン「%s」を承認しました", org.Login, shorten(note, 40))
			fmt.Fprintf(&b, "Fine-grained トークン「%s」(…%s)による %s のリソースへのアクセスを、%s のオーナーが承認しました。トークンは今から使えます。\n", note, t.LastEight, org.Login, org.Login)
		} else {
			subject = fmt.Sprintf("[Gatehouse] %s がトークン「%s」を拒否しました", org.Login, shorten(note, 40))
			fmt.Fprintf(&b, "Fine-grained トークン「%s」(…%s)による %s のリソースへのアクセスを、%s のオーナーが拒否しました。このトークンは公開リソースの読み取りにしか使えません。\n", note, t.LastEight, org.Login, org.Login)
		}
		if reason != "" {
			fmt.Fprintf(&b, "\n理由: %s\n", reason)
		}
		if link != "" {
			fmt.Fprintf(&b, "\nトークン: %s\n", link)
		}
	} else {
		fmt.Fprintf(&b, "Hello %s,\n\n", u.Login)
		if approved {
			subject = fmt.Sprintf("[Gatehouse] %s approved your token %q", org.Login, note)
			fmt.Fprintf(&b, "An owner of %s approved your fine-grained personal access token %q\n(ending in %s). It can now use %s's resources.\n", org.Login, note, t.LastEight, org.Login)
		} else {
			subject = fmt.Sprintf("[Gatehouse] %s denied your token %q", org.Login, note)
			fmt.Fprintf(&b, "An owner of %s denied your fine-grained personal access token %q\n(ending in %s). It can read public resources only.\n", org.Login, note, t.LastEight)
		}
		if reason != "" {
			fmt.Fprintf(&b, "\nReason: %s\n", reason)
		}
		if link != "" {
			fmt.Fprintf(&b, "\nThe token: %s\n", link)
		}
	}
	return gatehouse.Message{To: u.Email, Subject: subject, Body: b.String()}
}
