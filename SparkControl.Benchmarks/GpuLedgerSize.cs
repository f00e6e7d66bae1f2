using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SparkControl.Core.Gpu;
using SparkControl.Core.Storage;

namespace SparkControl.Benchmarks;

/// <summary>
/// The <c>gpu-ledger-size</c> verb: the size of <c>sparkcontrol.db</c> holding 30 days of per-minute GPU ledger rows for
/// two Sparks (with their hourly and daily rollups), as the tracker writes them: every minute one row per model seen,
/// a model swap every six hours (so those minutes hold two rows, one with loading time), a no-model hour each night.
/// </summary>
public static class GpuLedgerSize
{
    public static int Run()
    {
        var data = Directory.CreateTempSubdirectory("sc-ledger-size-");
        try
        {
            var store = new SparkControlStore(new DataDirectory(data.FullName), SparkControl.Web.Hosting.DatabaseSchema.Create(), new SparkControl.Core.Storage.StorageHealth(TimeProvider.System, NullLogger<SparkControl.Core.Storage.StorageHealth>.Instance), NullLogger<SparkControlStore>.Instance);
            var ledger = new GpuLedgerStore(store);
            var start = LedgerTime.Day(DateTimeOffset.UtcNow).AddDays(-30);
            string[] sparks = ["spark-1", "spark-2"];
            string[] models = ["qwen3-8b", "llama-3.3-70b-instruct-fp8", "gpt-oss-120b", "nemotron-nano-9b-v2"];
            var random = new Random(7);
            for (var day = 0; day < 30; day++)
            {
                // One batch per day keeps the write fast; the rows are the same as 96 batches of 15 s flushes would leave.
                var batch = new Dictionary<LedgerKey, LedgerSeconds>();
                for (var minute = 0; minute < 1440; minute++)
                {
                    var at = start.AddDays(day).AddMinutes(minute);
                    for (var s = 0; s < sparks.Length; s++)
                    {
                        var slot = ((day * 4) + (minute / 360) + s) % models.Length;
                        var busy = Math.Round(random.NextDouble() * 60, 3);
                        if (minute / 60 == 3)
                        {
                            batch[new LedgerKey(sparks[s], null, at)] = new LedgerSeconds(0, 0, 0, 60, 0);
                        }
                        else if (minute % 360 == 0)
                        {
                            batch[new LedgerKey(sparks[s], models[(slot + models.Length - 1) % models.Length], at)] = new LedgerSeconds(busy / 4, 15 - (busy / 4), 0, 0, 0);
                            batch[new LedgerKey(sparks[s], models[slot], at)] = new LedgerSeconds(0, 0, 45, 0, 0);
                        }
                        else
                        {
                            batch[new LedgerKey(sparks[s], models[slot], at)] = new LedgerSeconds(busy, 60 - busy, 0, 0, 0);
                        }
                    }
                }

                ledger.Add(batch, sparks.ToDictionary(s => s, _ => start.AddDays(day + 1)));
            }

            using (var connection = store.Open())
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
                command.ExecuteNonQuery();
                Console.WriteLine($"rows: minute {Count(connection, "gpu_ledger_minute")}, hour {Count(connection, "gpu_ledger_hour")}, day {Count(connection, "gpu_ledger_day")}");
            }

            var asWritten = new FileInfo(store.DatabasePath).Length;
            using (var connection = store.Open())
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "VACUUM;";
                command.ExecuteNonQuery();
            }

            var vacuumed = new FileInfo(store.DatabasePath).Length;
            Console.WriteLine($"sparkcontrol.db, 30 days of minute rollups for 2 Sparks: {asWritten / 1048576.0:0.00} MiB as written, {vacuumed / 1048576.0:0.00} MiB after VACUUM");
            return 0;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            data.Delete(recursive: true);
        }
    }

    private static long Count(SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        // The table names are this file's constants.
        command.CommandText = $"SELECT count(*) FROM {table};";
        return (long)command.ExecuteScalar()!;
    }
}
