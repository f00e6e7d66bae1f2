using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SparkControl.Core.Configuration;

namespace SparkControl.Core.Storage;

public static class StorageRegistration
{
    /// <summary>The data directory (from <c>SparkControl:DataDirectory</c>), its health, and the SQLite store with <paramref name="schema"/>.</summary>
    public static IServiceCollection AddStorage(this IServiceCollection services, StoreSchema schema)
    {
        services.AddSingleton<StorageHealth>();
        services.AddSingleton(sp => new DataDirectory(sp.GetRequiredService<IOptions<SparkControlOptions>>().Value.DataDirectory, sp.GetRequiredService<StorageHealth>()));
        services.AddSingleton(schema);
        services.AddSingleton<SparkControlStore>();
        return services;
    }
}
