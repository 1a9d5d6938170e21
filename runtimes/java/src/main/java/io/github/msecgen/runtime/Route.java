package io.github.msecgen.runtime;

/**
 * Where one call goes: an address and its transport. Service names that are
 * literal addresses — {@code ip:port}, {@code ip:port@tcp}, {@code ip:port@udp} —
 * are routes themselves; as in MSEC's {@code getroute}, any suffix other than
 * {@code udp} means TCP. IPv6 hosts are written in brackets ({@code [::1]:7963}).
 */
public record Route(String ip, int port, Transport transport) {
    /** How a route is reached. */
    public enum Transport { TCP, UDP }

    /** One to five ASCII digits. */
    private static boolean isPort(String text) {
        if (text.isEmpty() || text.length() > 5) return false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') return false;
        }
        return true;
    }

    /** Parses a literal address; {@code null} when {@code text} is not one (e.g. a {@code Group.Service} name). */
    public static Route parseLiteral(String text) {
        int at = text.indexOf('@');
        String main = at < 0 ? text : text.substring(0, at);
        String suffix = at < 0 ? "" : text.substring(at + 1);
        int colon = main.lastIndexOf(':');
        if (colon <= 0) return null;
        String ip = main.substring(0, colon);
        String portText = main.substring(colon + 1);
        if (!isPort(portText)) return null;
        int port = Integer.parseInt(portText);
        if (port < 1 || port > 65535) return null;
        if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.substring(1, ip.length() - 1);
        if (ip.isEmpty()) return null;
        return new Route(ip, port, suffix.equals("udp") ? Transport.UDP : Transport.TCP);
    }

    /** {@code ip:port} (IPv6 bracketed): the key of the connection pool and of error reports. */
    public String address() {
        return ip.contains(":") ? "[" + ip + "]:" + port : ip + ":" + port;
    }
}
