"""The embedded target: throwaway cluster, container, service process, staging."""
