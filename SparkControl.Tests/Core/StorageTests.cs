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
    public void Store_New_AppliesEveryMigrationAndReopens()
    {
        var data = new DataDirectory(_directory.Path);

        var first = new SparkControlStore(data, new SparkControl.Core.Storage.StorageHealth(TimeProvider.System, NullLogger<SparkControl.Core.Storage.StorageHealth>.Instance), NullLogger<SparkControlStore>.Instance);
        var second = new SparkControlStore(data, new SparkControl.Core.Storage.StorageHealth(TimeProvider.System, NullLogger<SparkControl.Core.Storage.StorageHealth>.Instance), NullLogger<SparkControlStore>.Instance);

        Assert.True(first.IsAvailable);
        Assert.Equal(Migrations.Latest, first.SchemaVersion);
        Assert.Equal(Migrations.Latest, second.SchemaVersion);
        using var connection = second.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'service_status_changes'";
        Assert.Equal(1L, command.ExecuteScalar());
    }

    public void Dispose() => _directory.Dispose();
}
