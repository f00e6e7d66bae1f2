using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Nim;

public static class NimRegistration
{
    /// <summary>The NIM installer; a service-only install waits for ready through <paramref name="probeClient"/>'s client.</summary>
    public static IServiceCollection AddNimInstalls(this IServiceCollection services, Func<HttpClient> probeClient) =>
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<NimInstaller>(sp, probeClient()));
}
