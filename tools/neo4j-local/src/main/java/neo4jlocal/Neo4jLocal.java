package neo4jlocal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

/**
 * Runs a Neo4j Community server in-process (embedded API) with only the Bolt connector.
 *
 * <p>Configuration, as system properties ({@code -Dname=value}):
 * <ul>
 *   <li>{@code neo4j.local.home} - Neo4j home directory; data in {@code <home>/data}, logs in
 *       {@code <home>/logs} (default {@code ./neo4j-home})</li>
 *   <li>{@code neo4j.local.host} - Bolt listen address (default {@code 127.0.0.1})</li>
 *   <li>{@code neo4j.local.port} - Bolt port (default {@code 7687})</li>
 *   <li>{@code neo4j.local.pagecache} - page cache size, e.g. {@code 512m} (default {@code 512m})</li>
 *   <li>{@code neo4j.local.auth} - {@code true} to require authentication (default {@code false})</li>
 *   <li>{@code neo4j.local.conf} - optional neo4j.conf-style file with extra settings</li>
 * </ul>
 * With auth on, the password of user {@code neo4j} is taken from the environment variable
 * {@code NEO4J_LOCAL_PASSWORD} (at least 8 characters) and set on every start.
 *
 * <p>Prints {@code neo4j-local ready bolt://HOST:PORT} once the database accepts work and
 * shuts down cleanly on SIGTERM / SIGINT.
 */
public final class Neo4jLocal {

    private Neo4jLocal() {}

    public static void main(String[] args) throws Exception {
        Path home = Path.of(System.getProperty("neo4j.local.home", "neo4j-home")).toAbsolutePath();
        String host = System.getProperty("neo4j.local.host", "127.0.0.1");
        int port = Integer.parseInt(System.getProperty("neo4j.local.port", "7687"));
        String pageCache = System.getProperty("neo4j.local.pagecache", "512m");
        boolean auth = Boolean.parseBoolean(System.getProperty("neo4j.local.auth", "false"));
        String extraConf = System.getProperty("neo4j.local.conf", "");
        String password = System.getenv().getOrDefault("NEO4J_LOCAL_PASSWORD", "");

        if (auth && password.isEmpty()) {
            fail("neo4j.local.auth=true needs NEO4J_LOCAL_PASSWORD (at least 8 characters)");
        }
        Files.createDirectories(home);

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home);
        if (!extraConf.isEmpty()) {
            builder.loadPropertiesFromFile(Path.of(extraConf));
        }
        builder.setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.parse(pageCache))
                .setConfig(GraphDatabaseSettings.auth_enabled, auth)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                // Close Bolt at once on shutdown instead of after Netty's 5 s quiet period.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0);

        long started = System.nanoTime();
        DatabaseManagementService service = builder.build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("neo4j-local stopping");
            service.shutdown();
            System.out.println("neo4j-local stopped");
            System.out.flush();
            stopped.countDown();
        }, "neo4j-local-shutdown"));

        GraphDatabaseService db = service.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (!db.isAvailable(Duration.ofMinutes(5).toMillis())) {
            fail("database did not become available");
        }
        if (auth) {
            setPassword(service.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME), password);
        }

        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        System.out.printf("neo4j-local home=%s pagecache=%s auth=%s started in %d ms%n", home, pageCache, auth, ms);
        System.out.printf("neo4j-local ready bolt://%s:%d%n", host, port);
        System.out.flush();
        stopped.await();
    }

    /** Sets the password of user neo4j; an unchanged password is not an error. */
    private static void setPassword(GraphDatabaseService system, String password) {
        try {
            system.executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        } catch (RuntimeException e) {
            String msg = String.valueOf(e.getMessage());
            if (!msg.contains("Old password and new password cannot be the same")) {
                throw e;
            }
        }
    }

    private static void fail(String message) {
        System.err.println("neo4j-local error: " + message);
        System.exit(2);
    }
}
