using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SparkControl.Core.Configuration;
using SparkControl.Core.Storage;

namespace SparkControl.Core.Remote;

public static class RemoteRegistration
{
    /// <summary>Pinned host keys, the login keys' directories (the data directory's and <c>Ssh:KeyDirectories</c>), connectivity.</summary>
    public static IServiceCollection AddRemote(this IServiceCollection services)
    {
        services.AddSingleton<HostKeyStore>();
        services.AddSingleton(sp => new SshKeyStore(sp.GetRequiredService<DataDirectory>(), sp.GetRequiredService<IOptions<SparkControlOptions>>().Value.Ssh.KeyDirectories));
        services.AddSingleton<ConnectivityTracker>();
        return services;
    }
}
