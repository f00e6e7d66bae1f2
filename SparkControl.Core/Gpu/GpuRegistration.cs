using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Gpu;

public static class GpuRegistration
{
    /// <summary>The busy tracker and its ledger store.</summary>
    public static IServiceCollection AddGpu(this IServiceCollection services)
    {
        services.AddSingleton<GpuLedgerStore>();
        services.AddSingleton<GpuBusyTracker>();
        return services;
    }
}
