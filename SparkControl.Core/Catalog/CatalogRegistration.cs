using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Catalog;

public static class CatalogRegistration
{
    public static IServiceCollection AddCatalog(this IServiceCollection services)
    {
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<CatalogStore>();
        return services;
    }
}
