using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Disk;

public static class DiskRegistration
{
    public static IServiceCollection AddDisk(this IServiceCollection services) => services.AddSingleton<DiskSizeProbe>().AddSingleton<WeightsCleanup>().AddSingleton<ModelCopier>();
}
