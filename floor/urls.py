from django.urls import path

from floor import views

urlpatterns = []
