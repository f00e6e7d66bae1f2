using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Maintenance;

public static class MaintenanceRegistration
{
    public static IServiceCollection AddMaintenance(this IServiceCollection services)
    {
        services.AddSingleton<HostActionService>();
        services.AddSingleton<HostOverviewReader>();
        services.AddSingleton<HostUpdatesReader>();
        return services;
    }
}
