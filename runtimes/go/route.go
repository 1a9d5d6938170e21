package msec

import (
	"net"
	"strconv"
	"strings"
)

// Route is where one call goes.
type Route struct {
	IP   string
	Port int
	// Network is "tcp" or "udp".
	Network string
}

// Address is ip:port (IPv6 in brackets), the key of the connection pool.
func (r Route) Address() string {
	return net.JoinHostPort(r.IP, strconv.Itoa(r.Port))
}

// ParseLiteral reads a literal address used as a service name: ip:port,
// ip:port@tcp or ip:port@udp. As in MSEC's getroute, any suffix other than
// "udp" means TCP; IPv6 hosts are written in brackets ([::1]:7963). ok is
// false when text is not a literal address (e.g. a Group.Service name).
func ParseLiteral(text string) (route Route, ok bool) {
	main, suffix := text, ""
	if at := strings.IndexByte(text, '@'); at >= 0 {
		main, suffix = text[:at], text[at+1:]
	}
	colon := strings.LastIndexByte(main, ':')
	if colon <= 0 {
		return Route{}, false
	}
	ip, portText := main[:colon], main[colon+1:]
	if len(portText) < 1 || len(portText) > 5 {
		return Route{}, false
	}
	port := 0
	for i := 0; i < len(portText); i++ {
		d := portText[i]
		if d < '0' || d > '9' {
			return Route{}, false
		}
		port = port*10 + int(d-'0')
	}
	if port < 1 || port > 65535 {
		return Route{}, false
	}
	if strings.HasPrefix(ip, "[") && strings.HasSuffix(ip, "]") {
		ip = ip[1 : len(ip)-1]
	}
	if ip == "" {
		return Route{}, false
	}
	network := "tcp"
	if suffix == "udp" {
		network = "udp"
	}
	return Route{IP: ip, Port: port, Network: network}, true
}
