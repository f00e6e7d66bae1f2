using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Secrets;

namespace SparkControl.Core.Operations;

public static class OperationsRegistration
{
    /// <summary>The event feed, alerts and idle unloads; <paramref name="createClient"/> makes the webhooks' HTTP client.</summary>
    public static IServiceCollection AddOperations(this IServiceCollection services, Func<HttpClient> createClient)
    {
        services.AddSingleton<FleetEventFeed>();
        services.AddSingleton<AlertSettingsStore>();
        services.AddSingleton(sp => new AlertDelivery(
            sp.GetRequiredService<SecretStore>(),
            sp.GetRequiredService<IOptionsMonitor<OperationsOptions>>(),
            createClient,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<AlertDelivery>>()));
        services.AddSingleton<AlertWebhooks>();
        services.AddSingleton<AlertMonitor>();
        services.AddSingleton<IdleUnloader>();
        return services;
    }
}
