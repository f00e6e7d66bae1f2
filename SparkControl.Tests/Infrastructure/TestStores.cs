using Microsoft.Extensions.Logging.Abstractions;
using SparkControl.Core.Storage;
using SparkControl.Web.Hosting;

namespace SparkControl.Tests.Infrastructure;

/// <summary>The app's SQLite store with the app's schema, in a directory a test gives.</summary>
public static class TestStores
{
    public static SparkControlStore Open(string dataDirectory) => Open(new DataDirectory(dataDirectory));

    public static SparkControlStore Open(DataDirectory dataDirectory) =>
        new(dataDirectory, DatabaseSchema.Create(), new StorageHealth(TimeProvider.System, NullLogger<StorageHealth>.Instance), NullLogger<SparkControlStore>.Instance);
}
