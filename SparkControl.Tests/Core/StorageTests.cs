using Microsoft.Extensions.Logging.Abstractions;
using SparkControl.Core.Storage;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Core;

public sealed class StorageTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task WriteAtomicAsync_ReplacesTheFileAndLeavesNoTempFiles()
    {
        var data = new DataDirectory(_directory.Path);
        await data.WriteAtomicAsync("a.yaml", "one", CancellationToken.None);

        await data.WriteAtomicAsync("a.yaml", "two", CancellationToken.None);

        Assert.Equal("two", await data.ReadTextAsync("a.yaml", CancellationToken.None));
        Assert.Equal(["a.yaml"], Directory.GetFiles(_directory.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task WriteAtomicAsync_WithMode_CreatesTheFileWithThatMode()
    {
        var data = new DataDirectory(_directory.Path);

        await data.WriteAtomicAsync("secrets.yaml", "k: v", CancellationToken.None, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_directory.File("secrets.yaml")));
    }

    [Fact]
    public async Task WriteAtomicAsync_ConcurrentWriters_NeverTearTheFile()
    {
        var data = new DataDirectory(_directory.Path);
        var contents = Enumerable.Range(0, 40).Select(i => new string((char)('a' + (i % 26)), 20_000 + i)).ToList();

        await Task.WhenAll(contents.Select(c => Task.Run(() => data.WriteAtomicAsync("big.txt", c, CancellationToken.None))));

        Assert.Contains(await data.ReadTextAsync("big.txt", CancellationToken.None), contents);
    }

    [Fact]
    public async Task ReadTextAsync_Missing_IsNull() =>
        Assert.Null(await new DataDirectory(_directory.Path).ReadTextAsync("none.yaml", CancellationToken.None));

    [Fact]
    public void Store_New_AppliesEveryCapabilitysMigrationsAndReopens()
    {
        var data = new DataDirectory(_directory.Path);

        var first = TestStores.Open(data);
        var second = TestStores.Open(data);

        Assert.True(first.IsAvailable);
        Assert.Equal(8, first.SchemaVersion);
        Assert.Equal(8, second.SchemaVersion);
        using var connection = second.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
        using var reader = command.ExecuteReader();
        var tables = new List<string>();
        while (reader.Read())
        {
            tables.Add(reader.GetString(0));
        }

        Assert.Equal(["api_keys", "audio_sweeps", "audit_log", "gpu_ledger_cursor", "gpu_ledger_day", "gpu_ledger_hour", "gpu_ledger_minute", "qdrant_snapshot_runs", "qdrant_snapshot_schedules", "service_status_changes", "swap_phases", "swaps", "transcripts", "users"], tables);
    }

    [Fact]
    public void Schema_AnOlderDatabase_GetsOnlyTheVersionsItLacks_TheStepsOfOneVersionTogether()
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_directory.File("old.db")}");
        connection.Open();
        var v1 = new StoreSchema([new StoreMigration(1, "a", "CREATE TABLE a (x INTEGER);")]);
        var v3 = new StoreSchema([
            new StoreMigration(1, "a", "CREATE TABLE a (x INTEGER);"),
            new StoreMigration(2, "b", "CREATE TABLE b (x INTEGER);"),
            new StoreMigration(2, "c", "CREATE TABLE c (x INTEGER);"),
            new StoreMigration(3, "a", "ALTER TABLE a ADD COLUMN y INTEGER;"),
        ]);

        var before = v1.Apply(connection);
        var after = v3.Apply(connection);
        var again = v3.Apply(connection);

        Assert.Equal((1, 3, 3), (before, after, again));
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM pragma_table_info('a')";
        Assert.Equal(2L, command.ExecuteScalar());
    }

    [Fact]
    public void Schema_AFailingStep_LeavesItsWholeVersionUndone()
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_directory.File("half.db")}");
        connection.Open();
        var schema = new StoreSchema([
            new StoreMigration(1, "a", "CREATE TABLE a (x INTEGER);"),
            new StoreMigration(1, "b", "CREATE TABLE a (x INTEGER);"),
        ]);

        Assert.ThrowsAny<Microsoft.Data.Sqlite.SqliteException>(() => schema.Apply(connection));
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'a'";
        Assert.Equal(0L, command.ExecuteScalar());
    }

    [Theory]
    [InlineData(new[] { 1, 3 }, "version 2 is missing")]
    [InlineData(new[] { 2 }, "version 1 is missing")]
    public void Schema_VersionsWithAGap_AreRefused(int[] versions, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => new StoreSchema(versions.Select(v => new StoreMigration(v, "x", "SELECT 1;"))));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();
}
