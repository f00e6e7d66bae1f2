using Microsoft.Data.Sqlite;
using SparkControl.Core.Storage;

namespace SparkControl.Core.Gpu;

/// <summary>The rollup tables of the GPU ledger.</summary>
public enum LedgerResolution
{
    Minute,
    Hour,
    Day,
}

/// <summary>One stored bucket: a Spark's seconds for one model (null: none or not known) in the bucket starting at <see cref="Bucket"/>.</summary>
public sealed record LedgerBucket(string Spark, string? Model, DateTimeOffset Bucket, LedgerSeconds Seconds);

/// <summary>
/// The GPU busy ledger in the SQLite store: per-minute, hourly and daily rollups written together, so each table
/// alone answers for its resolution; minute and hour rows are pruned after their retention, days are kept.
/// </summary>
public sealed class GpuLedgerStore(SparkControlStore store)
{
    /// <summary>The GPU busy ledger: seconds per state by Spark, model ('' for none) and bucket start (Unix seconds, UTC), rolled up per minute, hour and day; and the last sample counted per Spark, so a restart never counts twice (schema version 3).</summary>
    public static readonly IReadOnlyList<StoreMigration> Migrations =
    [
        new(3, "GPU ledger", """
                CREATE TABLE gpu_ledger_minute (
                    spark TEXT NOT NULL, model TEXT NOT NULL, bucket INTEGER NOT NULL,
                    busy REAL NOT NULL, loaded_idle REAL NOT NULL, loading REAL NOT NULL, no_model REAL NOT NULL, unknown REAL NOT NULL,
                    PRIMARY KEY (bucket, spark, model)
                ) WITHOUT ROWID;
                CREATE TABLE gpu_ledger_hour (
                    spark TEXT NOT NULL, model TEXT NOT NULL, bucket INTEGER NOT NULL,
                    busy REAL NOT NULL, loaded_idle REAL NOT NULL, loading REAL NOT NULL, no_model REAL NOT NULL, unknown REAL NOT NULL,
                    PRIMARY KEY (bucket, spark, model)
                ) WITHOUT ROWID;
                CREATE TABLE gpu_ledger_day (
                    spark TEXT NOT NULL, model TEXT NOT NULL, bucket INTEGER NOT NULL,
                    busy REAL NOT NULL, loaded_idle REAL NOT NULL, loading REAL NOT NULL, no_model REAL NOT NULL, unknown REAL NOT NULL,
                    PRIMARY KEY (bucket, spark, model)
                ) WITHOUT ROWID;
                CREATE TABLE gpu_ledger_cursor (
                    spark TEXT NOT NULL PRIMARY KEY,
                    last_sample_ticks INTEGER NOT NULL
                );
            """),
    ];

    public bool IsAvailable => store.IsAvailable;

    public string? UnavailableReason => store.UnavailableReason;

    /// <summary>
    /// Adds minute deltas to all three rollups and records each Spark's last counted sample, in one transaction; false
    /// (reported to the storage health) when it cannot be saved, so the caller keeps the batch.
    /// </summary>
    public bool Add(IReadOnlyDictionary<LedgerKey, LedgerSeconds> minutes, IReadOnlyDictionary<string, DateTimeOffset> cursors) =>
        store.TryWrite("the GPU ledger", (connection, transaction) => AddRows(connection, transaction, minutes, cursors));

    private static void AddRows(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyDictionary<LedgerKey, LedgerSeconds> minutes, IReadOnlyDictionary<string, DateTimeOffset> cursors)
    {
        foreach (var (resolution, floor) in new (LedgerResolution, Func<DateTimeOffset, DateTimeOffset>)[]
                 { (LedgerResolution.Minute, LedgerTime.Minute), (LedgerResolution.Hour, LedgerTime.Hour), (LedgerResolution.Day, LedgerTime.Day) })
        {
            // Sum per bucket first: sixty minutes of a batch are one upsert of the hour, not sixty.
            var buckets = minutes.GroupBy(m => (m.Key.Spark, Model: m.Key.Model ?? string.Empty, Bucket: floor(m.Key.Minute)))
                .Select(g => (g.Key, Seconds: g.Aggregate(LedgerSeconds.Zero, (sum, m) => sum + m.Value)));
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"""
                INSERT INTO {Table(resolution)} (spark, model, bucket, busy, loaded_idle, loading, no_model, unknown)
                VALUES ($spark, $model, $bucket, $busy, $idle, $loading, $none, $unknown)
                ON CONFLICT (bucket, spark, model) DO UPDATE SET
                    busy = busy + excluded.busy, loaded_idle = loaded_idle + excluded.loaded_idle, loading = loading + excluded.loading,
                    no_model = no_model + excluded.no_model, unknown = unknown + excluded.unknown;
                """;
            var spark = command.Parameters.Add("$spark", SqliteType.Text);
            var model = command.Parameters.Add("$model", SqliteType.Text);
            var bucket = command.Parameters.Add("$bucket", SqliteType.Integer);
            var busy = command.Parameters.Add("$busy", SqliteType.Real);
            var idle = command.Parameters.Add("$idle", SqliteType.Real);
            var loading = command.Parameters.Add("$loading", SqliteType.Real);
            var none = command.Parameters.Add("$none", SqliteType.Real);
            var unknown = command.Parameters.Add("$unknown", SqliteType.Real);
            command.Prepare();
            foreach (var (key, seconds) in buckets)
            {
                spark.Value = key.Spark;
                model.Value = key.Model;
                bucket.Value = key.Bucket.ToUnixTimeSeconds();
                busy.Value = seconds.Busy;
                idle.Value = seconds.LoadedIdle;
                loading.Value = seconds.Loading;
                none.Value = seconds.NoModel;
                unknown.Value = seconds.Unknown;
                command.ExecuteNonQuery();
            }
        }

        foreach (var (spark, at) in cursors)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO gpu_ledger_cursor (spark, last_sample_ticks) VALUES ($spark, $ticks)
                ON CONFLICT (spark) DO UPDATE SET last_sample_ticks = max(last_sample_ticks, excluded.last_sample_ticks);
                """;
            command.Parameters.AddWithValue("$spark", spark);
            command.Parameters.AddWithValue("$ticks", at.UtcTicks);
            command.ExecuteNonQuery();
        }
    }

    /// <summary>The last sample counted per Spark, as stored.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> ReadCursors()
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT spark, last_sample_ticks FROM gpu_ledger_cursor;";
        using var reader = command.ExecuteReader();
        var cursors = new Dictionary<string, DateTimeOffset>(StringComparer.OrdinalIgnoreCase);
        while (reader.Read())
        {
            cursors[reader.GetString(0)] = new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero);
        }

        return cursors;
    }

    /// <summary>The buckets of <paramref name="resolution"/> that start in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public IReadOnlyList<LedgerBucket> Read(LedgerResolution resolution, DateTimeOffset from, DateTimeOffset to)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT spark, model, bucket, busy, loaded_idle, loading, no_model, unknown FROM {Table(resolution)}
            WHERE bucket >= $from AND bucket < $to;
            """;
        command.Parameters.AddWithValue("$from", from.ToUnixTimeSeconds());
        command.Parameters.AddWithValue("$to", to.ToUnixTimeSeconds());
        using var reader = command.ExecuteReader();
        var buckets = new List<LedgerBucket>();
        while (reader.Read())
        {
            var model = reader.GetString(1);
            buckets.Add(new LedgerBucket(
                reader.GetString(0),
                model.Length == 0 ? null : model,
                DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(2)),
                new LedgerSeconds(reader.GetDouble(3), reader.GetDouble(4), reader.GetDouble(5), reader.GetDouble(6), reader.GetDouble(7))));
        }

        return buckets;
    }

    /// <summary>
    /// The start of the oldest bucket with data, as precisely as the rollups still know it (the day once its minutes
    /// and hours are pruned); null when the ledger is empty.
    /// </summary>
    public DateTimeOffset? FirstBucket()
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT (SELECT min(bucket) FROM gpu_ledger_day), (SELECT min(bucket) FROM gpu_ledger_hour), (SELECT min(bucket) FROM gpu_ledger_minute);
            """;
        using var reader = command.ExecuteReader();
        reader.Read();
        if (reader.IsDBNull(0))
        {
            return null;
        }

        // Each finer table refines the start only while it still holds the coarser bucket's beginning (pruning cuts the oldest).
        var first = DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(0));
        if (!reader.IsDBNull(1) && LedgerTime.Day(DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(1))) == first)
        {
            first = DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(1));
            if (!reader.IsDBNull(2) && LedgerTime.Hour(DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(2))) == first)
            {
                first = DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(2));
            }
        }

        return first;
    }

    /// <summary>Deletes minute rows older than <paramref name="minuteRetention"/> and hour rows older than <paramref name="hourRetention"/>.</summary>
    public bool Prune(DateTimeOffset now, TimeSpan minuteRetention, TimeSpan hourRetention) =>
        store.TryWrite("the GPU ledger", (connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM gpu_ledger_minute WHERE bucket < $minutes; DELETE FROM gpu_ledger_hour WHERE bucket < $hours;";
            command.Parameters.AddWithValue("$minutes", (now - minuteRetention).ToUnixTimeSeconds());
            command.Parameters.AddWithValue("$hours", (now - hourRetention).ToUnixTimeSeconds());
            command.ExecuteNonQuery();
        });

    // The table name comes from this enum, never from input.
    private static string Table(LedgerResolution resolution) => resolution switch
    {
        LedgerResolution.Minute => "gpu_ledger_minute",
        LedgerResolution.Hour => "gpu_ledger_hour",
        _ => "gpu_ledger_day",
    };
}
