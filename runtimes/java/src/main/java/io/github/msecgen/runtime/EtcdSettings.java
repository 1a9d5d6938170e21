package io.github.msecgen.runtime;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Where a caller's etcd is, configured as every msec-gen runtime reads it (the
 * environment wins over {@code etc/config.ini}, as {@code $MSEC_ROUTES} over
 * {@code [ROUTE] File}):
 *
 * <table>
 *   <caption>etcd settings</caption>
 *   <tr><th>{@code [ROUTE]} key</th><th>environment</th><th>meaning</th></tr>
 *   <tr><td>{@code etcd}</td><td>{@code MSEC_ETCD_ENDPOINTS}</td><td>comma-separated client URLs; set = resolve through etcd</td></tr>
 *   <tr><td>{@code etcd_prefix}</td><td>{@code MSEC_ETCD_PREFIX}</td><td>key prefix (default {@code /msec})</td></tr>
 * </table>
 */
public record EtcdSettings(List<String> endpoints, String prefix) {
    /** Environment variable with the etcd endpoints. */
    public static final String ENDPOINTS_ENV = "MSEC_ETCD_ENDPOINTS";
    /** Environment variable with the key prefix. */
    public static final String PREFIX_ENV = "MSEC_ETCD_PREFIX";
    /** Key prefix when none is configured. */
    public static final String DEFAULT_PREFIX = "/msec";

    private static final Pattern ENDPOINT = Pattern.compile("https?://[^/\\s]+");

    /** The settings from the process environment and {@code etc/config.ini}; {@code null} when etcd is not configured. */
    public static EtcdSettings fromEnvironment() {
        return from(System.getenv(), Path.of(RoutesFile.CONFIG_PATH));
    }

    /** The settings from {@code env} and the INI file {@code config}; {@code null} when no endpoints are configured. */
    public static EtcdSettings from(Map<String, String> env, Path config) {
        String fromEnv = env.get(ENDPOINTS_ENV);
        String endpointsText = fromEnv != null && !fromEnv.isEmpty() ? fromEnv : RoutesFile.configValue(config, "ROUTE", "etcd");
        if (endpointsText == null || endpointsText.isBlank()) return null;
        String where = fromEnv != null && !fromEnv.isEmpty() ? "$" + ENDPOINTS_ENV : config + " [ROUTE] etcd";
        String prefix = env.get(PREFIX_ENV);
        if (prefix == null || prefix.isEmpty()) prefix = RoutesFile.configValue(config, "ROUTE", "etcd_prefix");
        if (prefix == null || prefix.isEmpty()) prefix = DEFAULT_PREFIX;
        return new EtcdSettings(parseEndpoints(endpointsText, where), prefix);
    }

    /** Comma-separated URLs (trailing slashes dropped); throws naming {@code where} and the bad entry. */
    public static List<String> parseEndpoints(String text, String where) {
        List<String> out = new ArrayList<>();
        for (String part : text.split(",")) {
            String e = part.strip().replaceAll("/+$", "");
            if (e.isEmpty()) continue;
            if (!ENDPOINT.matcher(e).matches()) {
                throw new IllegalArgumentException(where + ": invalid etcd endpoint \"" + e + "\" (expected http://host:port)");
            }
            out.add(e);
        }
        if (out.isEmpty()) throw new IllegalArgumentException(where + ": no etcd endpoints given");
        return List.copyOf(out);
    }
}
