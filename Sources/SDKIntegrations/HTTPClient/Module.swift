/// Client spans for AsyncHTTPClient (being written).
enum PeriscopeHTTPClientModule {}
