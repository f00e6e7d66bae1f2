using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Vectors;

public static class VectorsRegistration
{
    /// <summary>Qdrant's clients, the gateway embedder and search over both.</summary>
    public static IServiceCollection AddVectors(this IServiceCollection services)
    {
        services.AddHttpClient(GatewayEmbedder.HttpClientName, client => client.Timeout = TimeSpan.FromMinutes(2));
        services.AddSingleton<QdrantConnections>();
        services.AddSingleton<ITextEmbedder, GatewayEmbedder>();
        services.AddSingleton<VectorSearch>();
        services.AddSingleton<QdrantCollections>();
        services.AddHttpClient(Snapshots.QdrantSnapshots.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton<Snapshots.SnapshotStore>();
        services.AddSingleton<Snapshots.QdrantSnapshots>();
        services.AddSingleton<Snapshots.SnapshotScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<Snapshots.SnapshotScheduler>());
        return services;
    }
}
