using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Services;

public static class ServicesRegistration
{
    /// <summary>
    /// <c>services.yaml</c>, health (monitor, probes, status log), details, actions and model-server metrics. Probes and
    /// metrics reads go through <paramref name="probeClient"/>'s clients.
    /// </summary>
    public static IServiceCollection AddSparkServices(this IServiceCollection services, Func<HttpClient> probeClient)
    {
        services.AddSingleton<ServiceSettingsStore>();
        services.AddSingleton<ServiceStatusLog>();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<HealthProbe>(sp, probeClient()));
        services.AddSingleton<HealthMonitor>();
        services.AddSingleton<ServiceActions>();
        services.AddSingleton<MemoryCapCheck>();
        services.AddSingleton<ServiceDetailReader>();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ModelServerMonitor>(sp, probeClient()));
        return services;
    }
}
